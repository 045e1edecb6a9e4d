"""Per-run quantities the report tabulates, run by run and over the seeds of a group: the phase boundaries,
exposures per individual at the plateau end, and final losses and accuracies. Numbers only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from factdyn.analysis.report.run_info import RunInfo

FINAL_TAGS = (
    "val/attr_loss",
    "val/attr_acc",
    "unseen/attr_loss",
    "unseen/attr_acc",
    "ft_old/attr_loss",
    "ft_old/attr_acc",
    "ft_new/attr_loss",
    "ft_new/attr_acc",
    "new/attr_loss",
    "new/attr_acc",
    "toy/old_loss",
    "toy/old_acc",
    "toy/new_loss",
    "toy/new_acc",
)
"""Evaluation metrics given as final values, each where any run has it (pre-training, fine-tuning with
``model.eval_prefixes``, the toy memory)."""


def plateau_start(info: RunInfo) -> float | None:
    phases = info.phases
    return None if phases is None else phases.start_step


def plateau_end(info: RunInfo) -> float | None:
    phases = info.phases
    return None if phases is None else phases.end_step


def knowledge_step(info: RunInfo) -> float | None:
    phases = info.phases
    return None if phases is None else phases.knowledge_step


def exposures_at_plateau_end(info: RunInfo) -> float | None:
    """Plateau end × batch size / N: how often each individual was seen, on average, by the plateau end.
    ``None`` for a fine-tuning run (``model.init_checkpoint``): its plateau is the new individuals' and its
    stream mixes them with replayed ones, so N is not their number."""
    end = plateau_end(info)
    if end is None or not info.batch_size or not info.n or info.config.get("model.init_checkpoint"):
        return None
    return end * info.batch_size / info.n


def logged_at(info: RunInfo, tag: str, step: int) -> float | None:
    """The logged ``tag`` at exactly ``step`` (``None`` when the run has no such point)."""
    curve = info.curve(tag)
    if curve is None:
        return None
    hits = [v for s, v in zip(curve[0].tolist(), curve[1].tolist(), strict=True) if s == step]
    return hits[0] if hits else None


def final(tag: str) -> Callable[[RunInfo], float | None]:
    """The run's final ``tag`` (:meth:`RunInfo.final`)."""

    def value(info: RunInfo) -> float | None:
        return info.final(tag)

    return value


@dataclass(frozen=True)
class Measure:
    """A column of the report's tables: its heading, how to get it from a run, and its number format."""

    name: str
    of: Callable[[RunInfo], float | None]
    fmt: str = ".3g"


PHASE_MEASURES = (
    Measure("plateau start", plateau_start, ".0f"),
    Measure("plateau end", plateau_end, ".0f"),
    Measure("knowledge", knowledge_step, ".0f"),
    Measure("exposures at plateau end", exposures_at_plateau_end, ".3g"),
)


def measures(infos: Sequence[RunInfo]) -> list[Measure]:
    """The phase measures, then the final value of every :data:`FINAL_TAGS` metric some run has."""
    finals = [
        Measure(f"final {tag}", final(tag))
        for tag in FINAL_TAGS
        if any(i.final(tag) is not None for i in infos)
    ]
    return [*PHASE_MEASURES, *finals]
