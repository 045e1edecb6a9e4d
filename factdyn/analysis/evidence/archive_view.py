"""What the generated tables read: the runs of one experiment in the results archive, per seed, and the
Markdown they are printed as."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from factdyn.analysis.report.md_table import table
from factdyn.analysis.report.run_info import RunInfo, load_runs
from factdyn.analysis.report.seeds import SeedStat, seed_stat
from factdyn.run_layout import ARCHIVE_RECORD, SUMMARY

PerSeed = dict[int, float | None]


@dataclass(frozen=True)
class Experiment:
    """The archived runs of one experiment: ``<results>/<name>``."""

    results: Path
    name: str

    @property
    def root(self) -> Path:
        return self.results / self.name

    def runs(self, where: Callable[[RunInfo], bool] = lambda info: True) -> list[RunInfo]:
        """The archived runs (finished runs only: the archive holds no others) that ``where`` keeps."""
        if not self.root.is_dir():
            return []
        return [info for info in _finished_runs(self.root, _state(self.root)) if where(info)]

    def missing(self, how: str) -> str:
        """The text of a block whose runs are not archived yet."""
        where = f"{self.results.name}/{self.name}"
        return f"_Not measured on the current config yet: no such runs in `{where}`. {how}_"


def _state(root: Path) -> tuple[tuple[str, int], ...]:
    """What the runs under ``root`` are made of, as far as a regeneration can tell: each run's record and
    summary with its modification time (archiving a run again rewrites both)."""
    files = sorted([*root.rglob(ARCHIVE_RECORD), *root.rglob(SUMMARY)])
    return tuple((str(path), path.stat().st_mtime_ns) for path in files)


@lru_cache(maxsize=16)
def _finished_runs(root: Path, state: tuple[tuple[str, int], ...]) -> tuple[RunInfo, ...]:
    """The finished runs under ``root``, read once per ``state``: every block and verdict of one
    regeneration reads the same runs (and their scalar tables) from memory, not from disk again."""
    return tuple(info for info in load_runs([root]) if info.run.finished)


def per_seed(infos: Sequence[RunInfo], fn: Callable[[RunInfo], float | None]) -> PerSeed:
    """seed -> ``fn(run)``; two runs of one seed in the same selection are an error (they would be averaged
    as two seeds)."""
    out: PerSeed = {}
    for info in infos:
        if info.seed in out:
            raise ValueError(f"two archived runs of seed {info.seed} in one row: {info.run.path}")
        out[int(info.seed)] = fn(info)
    return out


def stat_text(values: PerSeed, fmt: str = ".3g", per_seed_values: bool = True) -> str:
    """``mean ± s.d. (v0, v1, ...)``, or ``mean ± s.d.`` alone, or ``–`` when no seed has a value."""
    stat: SeedStat | None = seed_stat(values)
    if stat is None:
        return "–"
    if per_seed_values or stat.n == 1:
        return stat.format(fmt)
    return f"{stat.mean:{fmt}} ± {stat.sd:{fmt}}"


Column = tuple[str, Callable[[RunInfo], float | None], str, bool]
"""A table column: (header, measure of a run, number format, whether every seed's value is printed)."""


def row_cells(runs: Sequence[RunInfo], columns: Sequence[Column]) -> list[str]:
    """One table row's cells: each column's measure over the seeds of ``runs``."""
    return [stat_text(per_seed(runs, fn), fmt, per_seed_values=each) for _, fn, fmt, each in columns]


def value_at(info: RunInfo, tag: str, step: float | None) -> float | None:
    """The logged ``tag`` at the evaluation nearest ``step`` (``None`` when either is missing)."""
    curve = info.curve(tag)
    if curve is None or step is None:
        return None
    steps, values = curve
    return float(values[int(np.argmin(np.abs(steps - step)))])


def first_step(info: RunInfo, tag: str, at_least: float) -> int | None:
    """The first logged step at which ``tag`` >= ``at_least``."""
    curve = info.curve(tag)
    if curve is None:
        return None
    hits = np.nonzero(curve[1] >= at_least)[0]
    return int(curve[0][hits[0]]) if len(hits) else None


def seeds_line(infos: Sequence[RunInfo]) -> str:
    """``seeds 0, 1, 2`` of the runs a table rests on."""
    seeds = sorted({int(i.seed) for i in infos if i.seed is not None})
    if not seeds:
        return "no seeds"
    return ("seeds " if len(seeds) > 1 else "seed ") + ", ".join(str(s) for s in seeds)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The report's Markdown table (:func:`factdyn.analysis.report.md_table.table`) as one string."""
    return "\n".join(table(header, rows))
