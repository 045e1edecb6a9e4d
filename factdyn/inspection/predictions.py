"""``factdyn predict``: greedy answers for chosen individuals and attributes, as JSON lines.

One line per (individual, attribute, template): the :class:`~factdyn.inspection.answers.Answer` fields
plus the checkpoint's step. The file goes to the run's ``eval/`` folder
(:func:`factdyn.run_layout.predictions_path`), or beside a checkpoint that lies outside a run directory, or
where ``--out`` says; never into a new run version.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from factdyn import run_layout
from factdyn.checks import ConfigError
from factdyn.inspection.answers import Answer
from factdyn.inspection.loaded_run import LoadedRun
from factdyn.inspection.people import Person
from factdyn.inspection.prompts import Prompt
from factdyn.training.disk import require_writable, writing

INDIVIDUALS_FORMAT = (
    "a range START:STOP (Python slice: ':' is everyone, '0:100' the first 100) or indices '3,7,9'"
)


def select_indices(text: str, size: int, field: str = "--individuals") -> list[int]:
    """The indices of a population of ``size`` that ``text`` names (:data:`INDIVIDUALS_FORMAT`)."""
    text = text.strip()
    try:
        if ":" in text:
            parts = [int(p) if p.strip() else None for p in text.split(":")]
            if len(parts) > 3:
                raise ValueError(text)
            chosen = list(range(size))[slice(*parts)]
        else:
            chosen = [int(p) for p in text.split(",")]
    except ValueError:
        raise ConfigError(field, INDIVIDUALS_FORMAT, text) from None
    outside = [i for i in chosen if not 0 <= i < size]
    if outside or not chosen:
        raise ConfigError(field, f"{INDIVIDUALS_FORMAT}, within [0, {size - 1}] and not empty", text)
    return chosen


def parse_template(text: str) -> int | None:
    """``all`` (``None``: every template of the pool) or a template number."""
    if text == "all":
        return None
    if text.isdigit():
        return int(text)
    raise ConfigError("--template", "a template number (0 is the first of the pool) or 'all'", text)


def prediction_prompts(
    run: LoadedRun, people: Sequence[Person], attributes: Sequence[str], templates: str, template: int | None
) -> list[Prompt]:
    """The prompts of every (individual, attribute, template), in that order."""
    prompts = []
    for person in people:
        for attribute in attributes:
            numbers = (
                range(len(run.prompts.template_ids(person, attribute, templates)))
                if template is None
                else [template]
            )
            prompts += [run.prompts.prompt(person, attribute, templates, n) for n in numbers]
    return prompts


def default_output(run: LoadedRun, population: str) -> Path:
    """``<run>/eval/predictions_<checkpoint>_<population>.jsonl`` (``train+unseen`` for names of both);
    for a checkpoint outside a run directory, the ``eval/`` folder beside it."""
    return run_layout.predictions_path(run_layout.evaluation_home(run.checkpoint), run.checkpoint, population)


def write_predictions(answers: Sequence[Answer], path: Path, step: int) -> None:
    """The answers as JSON lines (with ``step``), written whole or not at all."""
    require_writable(path.parent, "--out")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp")
    with writing(path, tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            for answer in answers:
                f.write(json.dumps({"step": step, **answer.to_dict()}, ensure_ascii=False) + "\n")
        os.replace(tmp, path)


@dataclass(frozen=True)
class PredictionSummary:
    """What ``factdyn predict`` wrote: where, how many answers, and how many were right."""

    path: Path
    n_answers: int
    n_correct: int
    n_individuals: int

    def line(self) -> str:
        share = self.n_correct / self.n_answers if self.n_answers else float("nan")
        return (
            f"{self.n_answers} answers for {self.n_individuals} individuals, {self.n_correct} correct "
            f"({share:.3f}) -> {self.path}"
        )


def predict(
    run: LoadedRun,
    people: Sequence[Person],
    attributes: Sequence[str],
    templates: str = "heldout",
    template: int | None = 0,
    out: Path | None = None,
    batch_size: int = 256,
) -> PredictionSummary:
    """Answer every prompt of :func:`prediction_prompts` and write them (:func:`write_predictions`)."""
    label = "+".join(sorted({p.population for p in people}))
    path = out if out is not None else default_output(run, label)
    answers = run.answers(prediction_prompts(run, people, attributes, templates, template), batch_size)
    write_predictions(answers, path, run.step)
    return PredictionSummary(path, len(answers), sum(a.correct for a in answers), len(people))
