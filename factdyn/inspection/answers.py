"""Answers: what a model says about an individual's attribute next to the truth, one record per question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from factdyn.inspection.greedy import greedy_answers
from factdyn.inspection.prompts import Prompt
from factdyn.inspection.values import ValueVocabulary


@dataclass(frozen=True)
class Answer:
    """The model's greedy answer to one prompt, with its probability, and the truth.

    ``p_answer`` is the product of the answer tokens' probabilities under greedy decoding, ``p_truth`` the
    probability of the true value after the same prompt; ``correct``: the answer's tokens are the true
    value's; ``is_value``: the answer is some value of that attribute (not necessarily this individual's).
    """

    name: str
    population: str
    individual: int
    attribute: str
    templates: str
    template: int
    prompt: str
    answer: str
    p_answer: float
    truth: str
    p_truth: float
    correct: bool
    is_value: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def answer_prompts(
    model: nn.Module,
    prompts: Sequence[Prompt],
    values: ValueVocabulary,
    device: torch.device,
    batch_size: int = 256,
) -> list[Answer]:
    """The :class:`Answer` to every prompt, decoded ``batch_size`` prompts at a time."""
    out: list[Answer] = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        for prompt, decoded in zip(chunk, greedy_answers(model, chunk, values, device), strict=True):
            out.append(
                Answer(
                    name=prompt.person.name,
                    population=prompt.person.population,
                    individual=prompt.person.index,
                    attribute=prompt.attribute,
                    templates=prompt.templates,
                    template=prompt.template,
                    prompt=prompt.text,
                    answer=values.text(prompt.attribute, decoded.tokens),
                    p_answer=decoded.p_answer,
                    truth=prompt.truth_text,
                    p_truth=decoded.p_truth,
                    correct=decoded.tokens == prompt.truth,
                    is_value=values.value_index(prompt.attribute, decoded.tokens) is not None,
                )
            )
    return out
