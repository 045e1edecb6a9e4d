"""Read run directories, live or archived: ``summary.json``, ``sampler.json``, ``config.yaml`` and the
scalars (TensorBoard event files, or an archive's table). No training imports; the file names and what
"finished" means are :mod:`factdyn.run_layout`'s."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factdyn import run_layout
from factdyn.analysis.scalar_table import read_scalar_table


def read_scalars(run_dir: str | Path, tags: list[str] | None = None) -> dict[str, list[tuple[int, float]]]:
    """All scalar series of a run (``tag -> [(step, value), ...]``, sorted by step): an archived run's
    ``scalars.csv.gz``, else its TensorBoard event files.

    The run's event files are read in order by one accumulator, as TensorBoard reads the directory, so a
    resumed run's purge (the interrupted process's events from the checkpoint's step on) is honoured; a
    step written twice all the same (a run resumed before factdyn purged) keeps its last value.
    """
    table = Path(run_dir) / run_layout.SCALARS_TABLE
    if table.is_file():
        return read_scalar_table(table, tags)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    if not any(Path(run_dir).glob(run_layout.EVENTS_GLOB)):
        return {}
    # The trailing separator: tensorboard takes any path whose last part contains "tfevents" for one file.
    acc = EventAccumulator(os.path.join(str(run_dir), ""), size_guidance={"scalars": 0})
    acc.Reload()
    series: dict[str, dict[int, float]] = {}
    for tag in acc.Tags().get("scalars", []):
        if tags is None or tag in tags:
            for e in acc.Scalars(tag):
                series.setdefault(tag, {})[int(e.step)] = float(e.value)
    return {tag: sorted(points.items()) for tag, points in series.items()}


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


@dataclass
class Run:
    """One run directory (``logs/<name>/version_<k>``).

    Args:
        path: the run directory.
        summary: ``summary.json`` (empty when the run has none).
        sampler_record: ``sampler.json``, the training sampler's ``describe()`` (``None`` when absent).
    """

    path: Path
    summary: dict[str, Any] = field(default_factory=dict)
    sampler_record: dict[str, Any] | None = None

    @classmethod
    def load(cls, path: str | Path) -> Run:
        """Read a run directory's summary and sampler record (scalars are read on demand)."""
        path = Path(path)
        summary = _read_json(run_layout.summary_path(path)) or {}
        return cls(path=path, summary=summary, sampler_record=_read_json(path / run_layout.SAMPLER))

    @property
    def finished(self) -> bool:
        """The run ran to its end (see :func:`factdyn.run_layout.is_finished`)."""
        return run_layout.is_finished(self.path)

    @property
    def sampler(self) -> dict[str, Any] | None:
        """What the training sampler was, as recorded by the run (``{"sampler": "Zipf", "alpha": 0.8, ...}``):
        ``sampler.json``, else the ``sampler`` section of ``summary.json``; ``None`` when the run recorded
        neither (no ``ExposureCounter``)."""
        if isinstance(self.sampler_record, dict):
            return self.sampler_record
        section = self.summary.get("sampler")
        return section if isinstance(section, dict) else None

    def scalars(self, tags: list[str] | None = None) -> dict[str, list[tuple[int, float]]]:
        """The run's scalar series (see :func:`read_scalars`)."""
        return read_scalars(self.path, tags)


def find_runs(root: str | Path) -> list[Run]:
    """Every run directory under ``root`` (any folder holding TensorBoard events or a summary), except the
    attempts a sweep abandoned and the evaluation curves of a run's ``eval/`` folder (see
    :mod:`factdyn.run_layout`)."""
    root = Path(root)
    dirs = {p.parent for p in root.rglob(run_layout.EVENTS_GLOB)} | {
        p.parent for p in root.rglob(run_layout.SUMMARY)
    }
    return [
        Run.load(d)
        for d in sorted(dirs)
        if not run_layout.is_abandoned(d, root) and not run_layout.is_evaluation_curve(d)
    ]
