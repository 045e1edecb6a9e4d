"""The knowledge panels of runs (``panel.csv.gz``), for the report: per run, role and bucket, P(known |
exposures), the exposures at first known, and the exposure count at which half of the panel is known.

Neither torch nor Lightning: the computations are :mod:`factdyn.dynamics.panel`'s, the file format
:mod:`factdyn.dynamics.panel_table`'s. A fact is one (individual, attribute) pair throughout.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from factdyn import run_layout
from factdyn.dynamics.panel import (
    ExposureCurve,
    crossing,
    exposure_edges,
    first_known_exposures,
    known_given_exposures,
    median_first_known,
)
from factdyn.dynamics.panel_table import PanelTable, read_panel


def read_run_panel(run_dir: str | Path) -> PanelTable | None:
    """The run's panel table, or ``None`` when the run has no panel file (or an empty one)."""
    path = Path(run_dir) / run_layout.PANEL
    if not path.is_file():
        return None
    table = read_panel(path)
    return table if len(table) else None


def select(table: PanelTable, role: str | None = None, bucket: int | None = None) -> PanelTable:
    """The rows of one role and/or one bucket (all rows for ``None``)."""
    keep = np.ones(len(table), dtype=bool)
    if role is not None:
        keep &= table.role == role
    if bucket is not None:
        keep &= table.bucket == bucket
    return PanelTable(
        table.attributes,
        *(
            getattr(table, f)[keep]
            for f in ("step", "individual", "role", "bucket", "exposures", "known", "loss")
        ),
    )


def grids(table: PanelTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(steps (E,), exposures (E, P), known (E, P, A))`` of a table (individuals in sorted order)."""
    steps, _, exposures = table.grid(table.exposures)
    _, _, known = table.grid(table.known)
    return steps, exposures, known


def roles(table: PanelTable) -> list[str]:
    """The table's roles, in the order of the training index space (the first individual's role first)."""
    order = np.argsort(table.individual, kind="stable")
    _, first = np.unique(table.role[order], return_index=True)
    return [str(table.role[order][i]) for i in sorted(first)]


def curve(table: PanelTable, edges: np.ndarray | None = None) -> ExposureCurve:
    """P(known | exposures) over all of the table's rows."""
    return known_given_exposures(table.exposures, table.known, edges=edges)


def first_known(table: PanelTable) -> np.ndarray:
    """Exposures at which each fact of the table became known for good (NaN: not known at the end)."""
    _, exposures, known = grids(table)
    return first_known_exposures(exposures, known)


def common_edges(tables: Sequence[PanelTable]) -> np.ndarray:
    """Exposure bins that hold every table's counts (one set of bins for one figure)."""
    return exposure_edges(max(float(t.exposures.max(initial=0)) for t in tables))


@dataclass(frozen=True)
class PanelSummary:
    """One run's (or one role's) panel in numbers: its size, the evaluations, the exposures at which
    P(known) reaches 50 % (``half_known``) and by which half of its facts were known for good
    (``median_first_known``), the known fraction at the last evaluation, the 50 % point per bucket, and the
    exposures at which P(known) reaches :data:`EARLY_LEVEL` (``early_known``)."""

    individuals: int
    evaluations: int
    half_known: float | None
    median_first_known: float | None
    final_known: float
    half_known_by_bucket: dict[int, float | None]
    early_known: float | None = None


EARLY_LEVEL = 0.2
"""The lower point of P(known | exposures) a summary gives: the N sweeps stop once the held-out accuracy
reaches 0.2 (``phases.stop_on_knowledge``), so their panels reach this level but seldom 50 %."""


def summarize(table: PanelTable) -> PanelSummary:
    """The :class:`PanelSummary` of a table."""
    last = table.step == table.step.max()
    buckets = np.unique(table.bucket)
    by_bucket = (
        {int(b): crossing(curve(select(table, bucket=int(b)))) for b in buckets} if len(buckets) > 1 else {}
    )
    return PanelSummary(
        individuals=len(np.unique(table.individual)),
        evaluations=len(table.steps()),
        half_known=crossing(curve(table)),
        median_first_known=median_first_known(first_known(table)),
        final_known=float(table.known[last].mean()),
        half_known_by_bucket=by_bucket,
        early_known=crossing(curve(table), EARLY_LEVEL),
    )


def mean_curve(curves: Sequence[ExposureCurve]) -> tuple[np.ndarray, ...]:
    """Several runs' curves on the same bins (seeds): per bin the mean exposures, the mean, lowest and
    highest known fraction over the runs with points there (NaN where none has), and all runs' points."""
    known = np.stack([c.known for c in curves])
    x = np.stack([c.mean_exposures for c in curves])
    points = np.sum([c.points for c in curves], axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a bin empty in every run: NaN is the answer
        return np.nanmean(x, 0), np.nanmean(known, 0), np.nanmin(known, 0), np.nanmax(known, 0), points
