"""Fits on run results: the power law of plateau end vs N (paper Fig. 2 right), a bootstrap interval of its
exponent over seeds, the paper's fit and its range, and plateau extraction.

No training imports: the plateau definitions are :mod:`factdyn.dynamics.phases` (numpy only), the same the
``PhaseDetector`` callback uses during training.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from factdyn.analysis.runs import Run
from factdyn.dynamics.phases import PhaseThresholds, detect_phases

PAPER_PLATEAU_FIT = (0.43, 0.81, 0.998)
"""The paper's fit of plateau end (steps) vs N: y = 0.43 · N^0.81, R² = 0.998 (spec §2.2)."""
PAPER_PLATEAU_N_RANGE = (4_000, 256_000)
"""The smallest and largest N the paper's fit was made on (Fig. 2 right, spec §1.5, §8)."""
PAPER_BATCH_SIZE = 128
"""The paper's batch size (sequences per step, spec §3.2): its fit's steps are steps of 128 sequences."""


def paper_plateau_exposures(n: Any) -> Any:
    """The paper's fit in exposures per individual: ``0.43 · N^0.81`` steps × 128 sequences / N."""
    a, b, _ = PAPER_PLATEAU_FIT
    n = np.asarray(n, dtype=float)
    return a * n**b * PAPER_BATCH_SIZE / n


@dataclass(frozen=True)
class PowerLaw:
    """``y = prefactor · x ** exponent``, fitted by least squares in log–log space.

    Args:
        prefactor: ``a`` in ``a · x^b``.
        exponent: ``b``.
        r2: coefficient of determination of the straight-line fit of log y on log x.
        n_points: points used (those with x > 0 and y > 0).
    """

    prefactor: float
    exponent: float
    r2: float
    n_points: int

    def __call__(self, x: Any) -> Any:
        return self.prefactor * np.asarray(x, dtype=float) ** self.exponent

    def describe(self, x: str = "N") -> str:
        return f"{self.prefactor:.3g}·{x}^{self.exponent:.2f} (R² = {self.r2:.3f}, {self.n_points} points)"


def fit_power_law(x: Sequence[float], y: Sequence[float]) -> PowerLaw:
    """Fit ``y = a · x^b`` on the points with ``x > 0`` and ``y > 0`` (at least two distinct x needed)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"fit_power_law: x and y must be 1-d of equal length, got {x.shape}, {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log(x[keep]), np.log(y[keep])
    if len(np.unique(lx)) < 2:
        raise ValueError(
            f"fit_power_law needs positive y at >= 2 distinct x > 0, got {int(keep.sum())} points"
        )
    b, log_a = np.polyfit(lx, ly, 1)
    residual = ly - (log_a + b * lx)
    total = ly - ly.mean()
    ss_tot = float(total @ total)
    r2 = 1.0 - float(residual @ residual) / ss_tot if ss_tot > 0 else 1.0
    return PowerLaw(prefactor=float(math.exp(log_a)), exponent=float(b), r2=r2, n_points=int(keep.sum()))


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval.

    Args:
        low, high: its bounds.
        level: its nominal coverage (0.95: the 2.5th and 97.5th percentiles).
        n_resamples: bootstrap resamples drawn.
        rng_seed: seed of the ``numpy`` generator that drew them (the interval is reproducible).
    """

    low: float
    high: float
    level: float
    n_resamples: int
    rng_seed: int

    def describe(self) -> str:
        return (
            f"{self.level:.0%} interval [{self.low:.2f}, {self.high:.2f}] "
            f"({self.n_resamples} bootstrap resamples of the seeds within each N)"
        )


def bootstrap_exponent(
    values_by_x: Mapping[float, Sequence[float]],
    n_resamples: int = 2000,
    level: float = 0.95,
    rng_seed: int = 0,
) -> Interval | None:
    """Percentile interval of ``b`` in ``y = a · x^b`` fitted, as :func:`fit_power_law` does, to the mean of
    the values at each ``x``, when the values (one per seed) are resampled with replacement within each
    ``x``. ``None`` when no ``x`` has two values (nothing to resample) or fewer than two ``x`` remain."""
    xs = sorted(x for x, v in values_by_x.items() if x > 0 and len(v))
    ys = [np.asarray(values_by_x[x], dtype=float) for x in xs]
    if len(xs) < 2 or all(len(y) < 2 for y in ys):
        return None
    if any((y <= 0).any() or not np.isfinite(y).all() for y in ys):
        raise ValueError("bootstrap_exponent: every value must be positive and finite")
    rng = np.random.default_rng(rng_seed)
    # Each column: the mean over one resample of the seeds at that x; rows are resamples.
    means = np.stack([y[rng.integers(0, len(y), size=(n_resamples, len(y)))].mean(1) for y in ys], 1)
    lx = np.log(np.asarray(xs, dtype=float))
    centred = lx - lx.mean()
    ly = np.log(means)
    slopes = ((ly - ly.mean(1, keepdims=True)) @ centred) / float(centred @ centred)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(slopes, [tail, 100 - tail])
    return Interval(float(low), float(high), level, n_resamples, rng_seed)


@dataclass(frozen=True)
class RunPhases:
    """Phase boundaries of one run and where they came from (``summary`` or ``curve``)."""

    start_step: int | None
    end_step: int | None
    knowledge_step: int | None
    source: str


def run_phases(
    run: Run,
    scalars: dict[str, list[tuple[int, float]]] | None = None,
    monitor: str = "val/attr_loss",
    thresholds: PhaseThresholds | None = None,
) -> RunPhases | None:
    """The run's plateau: the ``plateau`` section of ``summary.json`` (what ``PhaseDetector`` found), or,
    when the summary has none (an unfinished run, or one from before the detector), the same detection
    replayed on the logged ``monitor`` curve with the baseline from the summary or ``baseline/attr_loss``.
    ``None`` when neither is available."""
    plateau = run.summary.get("plateau")
    if plateau is not None and thresholds is None:
        return RunPhases(
            plateau.get("start_step"), plateau.get("end_step"), plateau.get("knowledge_step"), "summary"
        )
    scalars = scalars if scalars is not None else run.scalars([monitor, "baseline/attr_loss"])
    curve = scalars.get(monitor)
    baseline = run.summary.get("baseline_attr_loss")
    if baseline is None and scalars.get("baseline/attr_loss"):
        baseline = scalars["baseline/attr_loss"][-1][1]
    if not curve or baseline is None or not baseline > 0:
        return None
    steps, losses = zip(*curve, strict=True)
    phases = detect_phases(steps, losses, baseline, thresholds=thresholds)
    return RunPhases(phases.reached_baseline_step, phases.plateau_end_step, phases.knowledge_step, "curve")
