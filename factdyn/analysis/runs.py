"""Read run directories: ``summary.json``, ``config.yaml`` and TensorBoard scalars. No training imports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def read_scalars(run_dir: str | Path, tags: list[str] | None = None) -> dict[str, list[tuple[int, float]]]:
    """All scalar series of a run (``tag -> [(step, value), ...]``, sorted by step, last write wins)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    series: dict[str, dict[int, float]] = {}
    for events in sorted(Path(run_dir).glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            if tags is None or tag in tags:
                for e in acc.Scalars(tag):
                    series.setdefault(tag, {})[int(e.step)] = float(e.value)
    return {tag: sorted(points.items()) for tag, points in series.items()}


@dataclass
class Run:
    """One run directory (``logs/<name>/version_<k>``)."""

    path: Path
    summary: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> Run:
        path = Path(path)
        summary_file = path / "summary.json"
        summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
        return cls(path=path, summary=summary)

    @property
    def finished(self) -> bool:
        return bool(self.summary)

    def scalars(self, tags: list[str] | None = None) -> dict[str, list[tuple[int, float]]]:
        return read_scalars(self.path, tags)


def find_runs(root: str | Path) -> list[Run]:
    """Every run directory under ``root`` (any folder holding TensorBoard events or a summary)."""
    root = Path(root)
    dirs = {p.parent for p in root.rglob("events.out.tfevents.*")} | {
        p.parent for p in root.rglob("summary.json")
    }
    return [Run.load(d) for d in sorted(dirs)]
