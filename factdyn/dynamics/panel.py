"""Knowledge against exposures, from the knowledge panel: pure numpy, shared by TensorBoard and the report.

Inputs are grids over (evaluations, panel individuals): ``exposures`` (E, P), the individual's training
exposures at each evaluation, and ``known`` (E, P, A), whether each attribute's value was argmax-correct on
all its tokens. A *fact* is one (individual, attribute) pair; ``unit="individual"`` instead asks for all of
an individual's attributes at once.

- :func:`known_given_exposures`: P(known | exposures), binned, with the number of panel points per bin;
- :func:`first_known_exposures`: for each fact, the exposures at the first evaluation from which it stayed
  known to the last one (NaN when it is not known at the end: not learned, or forgotten again);
- :func:`crossing`: the exposure count at which such a curve first reaches a level (the 50 % point).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Unit = Literal["attribute", "individual"]
UNIT_BINS = 16
"""Exposure bins are one count wide up to here (the plateau ends at 5-11 exposures), then 25 % wider each."""
GROWTH = 1.25


def facts(known: np.ndarray, unit: Unit = "attribute") -> np.ndarray:
    """(E, P, A) known flags as (E, P, k) facts: every attribute (k = A) or all of them at once (k = 1)."""
    known = np.asarray(known, dtype=bool)
    if unit == "attribute":
        return known
    if unit == "individual":
        return known.all(axis=-1, keepdims=True)
    raise ValueError(f"unit: one of 'attribute', 'individual', got {unit!r}")


def exposure_edges(max_exposures: float) -> np.ndarray:
    """Bin edges from 0 past ``max_exposures``: unit bins to :data:`UNIT_BINS`, then growing by
    :data:`GROWTH` (integers, so each bin holds whole exposure counts ``lo <= x < hi``)."""
    edges = list(range(UNIT_BINS + 1))
    while edges[-1] <= max_exposures:
        edges.append(max(edges[-1] + 1, int(np.ceil(edges[-1] * GROWTH))))
    return np.asarray(edges[: next(i for i, e in enumerate(edges) if e > max_exposures) + 1])


@dataclass(frozen=True)
class ExposureCurve:
    """P(known | exposures) in bins ``[lo, hi)``: ``points`` panel points (evaluation, individual) per bin,
    their mean exposures, and the fraction of their facts known (NaN for an empty bin)."""

    lo: np.ndarray
    hi: np.ndarray
    points: np.ndarray
    mean_exposures: np.ndarray
    known: np.ndarray

    def filled(self) -> ExposureCurve:
        """Only the bins holding points."""
        keep = self.points > 0
        return ExposureCurve(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


def known_given_exposures(
    exposures: np.ndarray, known: np.ndarray, unit: Unit = "attribute", edges: np.ndarray | None = None
) -> ExposureCurve:
    """P(known | exposures) over every panel point: each (evaluation, individual) contributes its facts to
    the bin of its exposure count. ``edges`` default to :func:`exposure_edges` of the largest count."""
    exposures = np.asarray(exposures).reshape(-1)
    flags = facts(known, unit).reshape(len(exposures), -1)
    if edges is None:
        edges = exposure_edges(float(exposures.max(initial=0)))
    edges = np.asarray(edges)
    n_bins = len(edges) - 1
    which = np.searchsorted(edges, exposures, side="right") - 1
    inside = (which >= 0) & (which < n_bins)
    which, exposures, flags = which[inside], exposures[inside], flags[inside]
    points = np.bincount(which, minlength=n_bins)
    total = np.bincount(which, weights=exposures, minlength=n_bins)
    known_sum = np.bincount(which, weights=flags.mean(axis=1), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ExposureCurve(
            lo=edges[:-1],
            hi=edges[1:],
            points=points,
            mean_exposures=np.where(points > 0, total / np.maximum(points, 1), np.nan),
            known=np.where(points > 0, known_sum / np.maximum(points, 1), np.nan),
        )


def first_known_exposures(exposures: np.ndarray, known: np.ndarray, unit: Unit = "attribute") -> np.ndarray:
    """(P, k) exposures at which each fact became known for good: at the first evaluation from which it is
    known at every later one; NaN when it is not known at the last evaluation. Evaluations in step order."""
    exposures = np.asarray(exposures, dtype=float)
    flags = facts(known, unit)
    if flags.shape[0] == 0:
        return np.full(flags.shape[1:], np.nan)
    stays = np.logical_and.accumulate(flags[::-1], axis=0)[::-1]
    first = stays.argmax(axis=0)  # (P, k): the first evaluation of the final run of known ones
    at_first = exposures[first, np.arange(flags.shape[1])[:, None]]
    return np.where(stays[-1], at_first, np.nan)


def crossing(curve: ExposureCurve, level: float = 0.5) -> float | None:
    """Exposures at which the binned P(known) first reaches ``level``, linear between the mean exposures
    of neighbouring filled bins; ``None`` if it never does (the first bin's mean if it starts above)."""
    filled = curve.filled()
    x, y = filled.mean_exposures, filled.known
    above = np.flatnonzero(y >= level)
    if len(above) == 0:
        return None
    i = int(above[0])
    if i == 0:
        return float(x[0])
    return float(x[i - 1] + (level - y[i - 1]) * (x[i] - x[i - 1]) / (y[i] - y[i - 1]))


def median_first_known(first: np.ndarray) -> float | None:
    """The exposures by which half of the facts were known for good (facts never known count as later than
    any); ``None`` when fewer than half ever were."""
    values = np.sort(np.where(np.isnan(first), np.inf, first).reshape(-1))
    if len(values) == 0:
        return None
    middle = float(np.median(values))
    return middle if np.isfinite(middle) else None
