"""Prompts that ask a model for one attribute of one individual, as token ids and as text.

A prompt is a biography cut just before a value: ``<bos>``, then the sentence of the asked attribute up to
its value (``"Ava Grace Nielsen's birthplace is"``). The sentences of a biography are shuffled in training
(``data.shuffle_sentences``, the paper's setting), so any sentence may come first and the prompt holds that
one sentence. A run trained in the fixed order saw each sentence only after those of the attributes before
it, so its prompts start with those sentences (with the true values), as its biographies always did.

The template is one of the individual's own templates for that attribute: the ``heldout`` ones (never
trained on; what ``val/attr_acc`` measures) or the ``training`` ones, by its number in that list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from factdyn.checks import ConfigError, require_choice
from factdyn.data.biography import BiographyAssembler
from factdyn.data.population import Population
from factdyn.data.resources import ATTRIBUTES, Resources
from factdyn.inspection.people import Person

TemplatePool = Literal["heldout", "training"]
TEMPLATE_POOLS: tuple[str, ...] = get_args(TemplatePool)
SPLIT_OF_POOL = {"heldout": "eval", "training": "train"}
"""The :meth:`Population.templates` split of each pool."""


@dataclass(frozen=True)
class Prompt:
    """What the model is asked: the individual, the attribute, the template, the prompt and the truth."""

    person: Person
    attribute: str
    templates: str
    template: int
    """The template's index among the attribute's templates (the line of its file, from 0)."""
    tokens: tuple[int, ...]
    text: str
    truth: tuple[int, ...]
    truth_text: str
    stop: int
    """The first token the template writes after the value (ends a greedy answer that is no value)."""


class PromptBuilder:
    """Builds :class:`Prompt` s from the pre-tokenized tables of a run's assembler."""

    def __init__(
        self,
        assembler: BiographyAssembler,
        resources: Resources,
        populations: dict[str, Population],
        shuffle_sentences: bool,
    ) -> None:
        self.assembler = assembler
        self.resources = resources
        self.populations = populations
        self.shuffle_sentences = shuffle_sentences

    def template_ids(self, person: Person, attribute: str, templates: str) -> np.ndarray:
        """The individual's templates of ``attribute`` in pool ``templates``, as indices into its file."""
        require_choice("templates", templates, TEMPLATE_POOLS)
        population = self.populations[person.population]
        return population.templates(SPLIT_OF_POOL[templates])[person.index, ATTRIBUTES.index(attribute)]

    def prompt(self, person: Person, attribute: str, templates: str = "heldout", number: int = 0) -> Prompt:
        """The prompt for ``attribute`` of ``person`` with the ``number``-th template of its pool."""
        pool = self.template_ids(person, attribute, templates)
        if not (isinstance(number, int) and 0 <= number < len(pool)):
            raise ConfigError("template", f"a number in [0, {len(pool) - 1}] ({templates} templates)", number)
        a = ATTRIBUTES.index(attribute)
        # Fixed order: the sentences before this one, with the same template number of their own pools.
        earlier = [] if self.shuffle_sentences else list(range(a))
        tokens = [self.assembler.tokenizer.bos_id]
        texts = []
        for k in earlier:
            t = int(self.template_ids(person, ATTRIBUTES[k], templates)[number])
            head, value, tail = self._sentence(person, k, t)
            tokens += head + value + tail
            texts.append(self._text(person, k, t, with_value=True))
        template = int(pool[number])
        head, truth, _ = self._sentence(person, a, template)
        texts.append(self._text(person, a, template, with_value=False))
        row = a * self.assembler.n_templates + template
        after = self.assembler.after[row, : self.assembler.after_len[row]]
        return Prompt(
            person=person,
            attribute=attribute,
            templates=templates,
            template=template,
            tokens=tuple(tokens + head),
            text=" ".join(texts),
            truth=tuple(truth),
            truth_text=self.resources.values[attribute][self._value(person, a)],
            stop=int(after[0]) if len(after) else self.assembler.tokenizer.eos_id,
        )

    def _value(self, person: Person, attr: int) -> int:
        return int(self.populations[person.population].values[person.index, attr])

    def _sentence(self, person: Person, attr: int, template: int) -> tuple[list[int], list[int], list[int]]:
        """Token ids of the sentence up to the value, of the value, and after it."""
        asm = self.assembler
        row = attr * asm.n_templates + template
        first, middle, last = self.populations[person.population].names[person.index]
        head = [
            *asm.before[row, : asm.before_len[row]],
            *asm.first[first, : asm.first_len[first]],
            *asm.first[middle, : asm.first_len[middle]],
            *asm.last[last, : asm.last_len[last]],
            *asm.between[row, : asm.between_len[row]],
        ]
        tail = asm.after[row, : asm.after_len[row]]
        return (
            [int(t) for t in head],
            asm.value_tokens(attr, self._value(person, attr)),
            [int(t) for t in tail],
        )

    def _text(self, person: Person, attr: int, template: int, with_value: bool) -> str:
        """The sentence as the template file writes it: whole, or cut before the value."""
        attribute = ATTRIBUTES[attr]
        sentence = self.resources.templates[attribute][template].replace("{name}", person.name)
        if with_value:
            return sentence.replace("{value}", self.resources.values[attribute][self._value(person, attr)])
        return sentence.split("{value}")[0].rstrip()
