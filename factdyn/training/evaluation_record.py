"""``factdyn validate`` / ``test`` results, kept in the run they evaluate (never a run version of their own).

Each evaluation of a checkpoint is one JSON line of ``<run>/eval/evaluations.jsonl``
(:data:`factdyn.run_layout.EVALUATIONS`): its name (the subcommand and the evaluation settings that differ
from the run's, :func:`~factdyn.run_layout.evaluation_name`), the checkpoint, the checkpoint's training
step, those settings and every metric. Evaluating the same checkpoint step again under the same name
replaces its line. After each evaluation, ``<run>/eval/<name>/`` is rewritten from the file as TensorBoard
events at the checkpoints' steps, so ``tensorboard --logdir <run>`` overlays the evaluations of several
checkpoints (a curve) on the run's own charts, under the same tags.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from factdyn.run_layout import (
    EVENTS_GLOB,
    evaluation_events_dir,
    evaluation_home,
    evaluation_name,
    evaluations_path,
    read_evaluations,
)

RECORD_KEY = ("evaluation", "step")
"""The fields that identify an evaluation: one line per name and checkpoint step."""


@dataclass
class Evaluation:
    """One ``validate`` / ``test`` of a checkpoint, planned before it runs: where its results go and under
    which name (``settings``: the evaluation settings that differ from the checkpoint's run)."""

    subcommand: str
    checkpoint: Path
    step: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return evaluation_home(self.checkpoint)

    @property
    def name(self) -> str:
        return evaluation_name(self.subcommand, self.settings)

    @property
    def folder(self) -> Path:
        """The evaluation's own folder (its TensorBoard curve, and the files a logger-less run writes)."""
        return evaluation_events_dir(self.home, self.name)

    def record(self, metrics: Mapping[str, float | None]) -> dict[str, Any]:
        """The JSON line of this evaluation with its ``metrics``."""
        checkpoint = self.checkpoint.resolve()
        try:
            shown = checkpoint.relative_to(self.home.resolve()).as_posix()
        except ValueError:
            shown = str(checkpoint)
        return {
            "evaluation": self.name,
            "subcommand": self.subcommand,
            "checkpoint": shown,
            "step": self.step,
            "settings": self.settings,
            "metrics": dict(metrics),
            "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }


def record_evaluation(home: str | Path, record: Mapping[str, Any]) -> Path:
    """Add ``record`` to ``<home>/eval/evaluations.jsonl`` (replacing one of the same name and step) and
    rewrite that evaluation's TensorBoard curve; returns the curve's folder. Evaluations of one run that
    finish at the same moment (a campaign's parallel jobs) take turns, so none loses another's line."""
    path = evaluations_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(path.with_name(path.name + ".lock")):
        key = tuple(record[k] for k in RECORD_KEY)
        records = [r for r in read_evaluations(home) if tuple(r.get(k) for k in RECORD_KEY) != key]
        records.append(dict(record))
        records.sort(key=lambda r: (str(r["evaluation"]), int(r["step"])))
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records), encoding="utf-8")
        os.replace(tmp, path)
        name = str(record["evaluation"])
        return write_curve(home, name, [r for r in records if r["evaluation"] == name])


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``lock_path`` while inside (no lock where ``fcntl`` does not exist)."""
    try:
        import fcntl
    except ImportError:  # Windows: evaluations of one run must not overlap there
        yield
        return
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_curve(home: str | Path, name: str, records: list[Mapping[str, Any]]) -> Path:
    """``<home>/eval/<name>/``: one events file holding every metric of ``records`` at its step."""
    from torch.utils.tensorboard import SummaryWriter

    folder = evaluation_events_dir(home, name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(EVENTS_GLOB):
        old.unlink()
    writer = SummaryWriter(str(folder))
    try:
        for record in records:
            for tag, value in sorted(record["metrics"].items()):
                if isinstance(value, (int, float)) and math.isfinite(value):
                    writer.add_scalar(tag, float(value), int(record["step"]))
    finally:
        writer.close()
    return folder


def evaluated_metrics(callback_metrics: Mapping[str, Any]) -> dict[str, float | None]:
    """The evaluation's scalars from ``trainer.callback_metrics`` as floats, ``None`` where not finite
    (JSON has no NaN; ``step`` is the record's own field)."""
    metrics: dict[str, float | None] = {}
    for tag, value in callback_metrics.items():
        if tag == "step":
            continue
        number = float(value.item() if hasattr(value, "item") else value)
        metrics[tag] = number if math.isfinite(number) else None
    return dict(sorted(metrics.items()))
