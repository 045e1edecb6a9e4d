"""``load_run``: a trained run in one object, to ask it questions, draw biographies and record attention.

    from factdyn.inspection import load_run
    run = load_run("logs/quickstart/version_0")          # or a checkpoint file
    run.ask("Ava Grace Nielsen", "birth_place")            # Answer(answer=..., p_answer=..., truth=...)

The model comes from the checkpoint's weights and hyperparameters, the populations and the tokenizer from
the DataModule settings ``factdyn fit`` saved in it (as ``factdyn validate`` takes them,
:func:`~factdyn.training.evaluation_source.checkpoint_datamodule`); every load is ``weights_only`` and
hash-checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from factdyn import run_layout
from factdyn.checks import UserError, require_choice
from factdyn.data import BiographyDataModule
from factdyn.data.biography import BiographyBatch
from factdyn.data.population import Population
from factdyn.data.resources import ATTRIBUTES, load_resources
from factdyn.inspection.answers import Answer, answer_prompts
from factdyn.inspection.attention import AttentionRecord, record_attention
from factdyn.inspection.people import People, Person, require_attribute
from factdyn.inspection.prompts import SPLIT_OF_POOL, TEMPLATE_POOLS, Prompt, PromptBuilder
from factdyn.inspection.values import ValueVocabulary
from factdyn.model import Transformer
from factdyn.training.checkpoint_files import CheckpointError, load_verified
from factdyn.training.evaluation_source import checkpoint_datamodule
from factdyn.training.pretrained import pretrained_from

Who = str | int
"""An individual: a full name, or an index into the population given alongside."""


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file as given, or a run directory's ``checkpoints/last.ckpt`` (else its newest scheduled
    checkpoint); a one-line :class:`UserError` when there is none."""
    path = Path(path)
    if path.is_file():
        return path
    found = run_layout.run_checkpoint(path) if path.is_dir() else None
    if found is not None:
        return found
    raise UserError(
        f"{path}: a checkpoint file, or a run directory holding {run_layout.CHECKPOINT_DIR}/"
        f"{run_layout.LAST_CHECKPOINT} or step=*.ckpt, is needed"
    )


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class LoadedRun:
    """A trained run: its model, its data (populations, tokenizer) and the questions one asks of them.

    Attributes:
        checkpoint: the checkpoint file loaded; ``step``: its training step; ``run_dir``: the run directory
            it lies in (``None`` for a checkpoint outside one).
        model: the :class:`~factdyn.model.Transformer`, in eval mode, on ``device``, no gradients.
        datamodule: the run's :class:`~factdyn.data.BiographyDataModule`, set up (its ``eval_batches`` are
            those of the run's validation).
    """

    def __init__(
        self,
        checkpoint: Path,
        step: int,
        model: Transformer,
        datamodule: BiographyDataModule,
        device: torch.device,
    ) -> None:
        self.checkpoint = checkpoint
        self.step = step
        self.run_dir = run_layout.run_of_checkpoint(checkpoint)
        self.device = device
        self.model = model.to(device).eval().requires_grad_(False)
        self.datamodule = datamodule
        self.resources = load_resources()
        self.people = People(self.resources, datamodule.populations)
        self.values = ValueVocabulary(datamodule.assembler, self.resources)
        self.prompts = PromptBuilder(
            datamodule.assembler, self.resources, datamodule.populations, datamodule.hparams.shuffle_sentences
        )

    @property
    def tokenizer(self):  # noqa: ANN201 - the data's tokenizer (factdyn.data.tokenizer.Tokenizer)
        return self.datamodule.tokenizer

    @property
    def populations(self) -> dict[str, Population]:
        """``train`` (the N individuals trained on), ``unseen`` and ``new``: those this run has."""
        return self.people.populations

    @property
    def attributes(self) -> tuple[str, ...]:
        return ATTRIBUTES

    def person(self, who: Who, population: str = "train") -> Person:
        """The individual called ``who``, or the ``who``-th of ``population``."""
        if isinstance(who, str):
            return self.people.find(who)
        return self.people.at(population, who)

    def facts(self, who: Who, population: str = "train") -> dict[str, str]:
        """The six true values of an individual, by attribute."""
        person = self.person(who, population)
        values = self.populations[person.population].values[person.index]
        return {a: self.resources.values[a][int(v)] for a, v in zip(ATTRIBUTES, values, strict=True)}

    def prompt(
        self,
        who: Who,
        attribute: str,
        population: str = "train",
        templates: str = "heldout",
        template: int = 0,
    ) -> Prompt:
        """The prompt asking for ``attribute`` with the ``template``-th of the individual's ``templates``."""
        return self.prompts.prompt(
            self.person(who, population), require_attribute(attribute), templates, template
        )

    def ask(
        self,
        who: Who,
        attribute: str,
        population: str = "train",
        templates: str = "heldout",
        template: int = 0,
    ) -> Answer:
        """The model's greedy answer for one attribute of one individual, its probability and the truth."""
        return self.answers([self.prompt(who, attribute, population, templates, template)])[0]

    def ask_all(
        self, who: Who, population: str = "train", templates: str = "heldout", template: int = 0
    ) -> list[Answer]:
        """:meth:`ask` for each of the six attributes."""
        return self.answers([self.prompt(who, a, population, templates, template) for a in ATTRIBUTES])

    def answers(self, prompts: Sequence[Prompt], batch_size: int = 256) -> list[Answer]:
        """The answer to every prompt, ``batch_size`` at a time."""
        return answer_prompts(self.model, prompts, self.values, self.device, batch_size)

    def biographies(
        self, who: Sequence[Who], population: str = "train", templates: str = "heldout", seed: int = 0
    ) -> BiographyBatch:
        """One biography per individual (names or indices into ``population``), its templates drawn from the
        individual's ``templates`` with ``numpy.random.default_rng(seed)``, in the run's sentence order
        setting: token ids (``tokens``) and the spans of names and values. :meth:`text` writes one out."""
        require_choice("templates", templates, TEMPLATE_POOLS)
        people = [self.person(w, population) for w in who]
        roles = {p.population for p in people}
        if len(roles) > 1:
            raise UserError(f"biographies: individuals of one population at a time, got {sorted(roles)}")
        return self.datamodule.assembler.assemble(
            self.populations[people[0].population],
            np.array([p.index for p in people]),
            np.random.default_rng(seed),
            split=SPLIT_OF_POOL[templates],
            shuffle_sentences=self.datamodule.hparams.shuffle_sentences,
        )

    def text(self, batch: BiographyBatch, row: int = 0) -> str:
        """Biography ``row`` of ``batch`` as text (without ``<bos>`` and ``<eos>``)."""
        return self.datamodule.assembler.decode(batch, row)

    def attention(
        self, who: Who, population: str = "train", templates: str = "heldout", seed: int = 0
    ) -> AttentionRecord:
        """The attention patterns of one biography of ``who`` (:meth:`biographies`), with token roles and the
        per-layer statistics of the recall circuit."""
        return record_attention(
            self.model, self.biographies([who], population, templates, seed), self.tokenizer
        )


def load_run(path: str | Path, device: str | torch.device | None = None) -> LoadedRun:
    """The run of a checkpoint file or a run directory (its ``last.ckpt``), on ``device`` (default: CUDA
    when available). A file that is not a factdyn checkpoint is a one-line ``CheckpointError``."""
    checkpoint = resolve_checkpoint(path)
    loaded = load_verified(checkpoint)
    pretrained = pretrained_from(loaded, checkpoint)
    datamodule = checkpoint_datamodule(checkpoint, loaded)
    theirs, ours = pretrained.tokenizer_fingerprint, datamodule.tokenizer_fingerprint
    if theirs and theirs != ours:
        raise CheckpointError(
            f"{checkpoint}: trained with tokenizer {theirs}, this factdyn's resources give {ours}: its token "
            "ids mean other words here"
        )
    return LoadedRun(
        checkpoint,
        pretrained.step,
        pretrained.model,
        datamodule,
        torch.device(device) if device else default_device(),
    )
