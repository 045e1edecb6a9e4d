"""Plateau end vs N (paper Fig. 2 right) by group: the power-law fit in steps, the per-seed plateau ends and
exposures per individual, and a bootstrap interval of the exponent over seeds. Numbers only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from factdyn.analysis.fits import Interval, PowerLaw, bootstrap_exponent, fit_power_law
from factdyn.analysis.report.aggregates import determined_by_n, plateau_points
from factdyn.analysis.report.run_info import N_KEY, RunInfo, factor_order, group_by
from factdyn.analysis.report.seeds import SeedStat, factor_text, unique_labels

N_RESAMPLES = 2000
"""Bootstrap resamples of the seeds for the exponent's interval."""
INTERVAL_LEVEL = 0.95
RNG_SEED = 0
"""Seed of the bootstrap's generator: the interval is the same on every run of the report."""
MIN_N = 3
"""Population sizes a group needs for a fit."""


def _stat(pairs: list[tuple[int | None, float]]) -> SeedStat:
    pairs = sorted(pairs, key=lambda p: (p[0] is None, p[0] or 0))
    return SeedStat(seeds=tuple(s for s, _ in pairs), values=tuple(float(v) for _, v in pairs))


@dataclass(frozen=True)
class PlateauFit:
    """One group's plateau end vs N.

    Args:
        fit: ``plateau end (steps) = a · N^b``, least squares in log–log space on the mean over seeds per N.
        ends: N -> plateau end in optimizer steps, over the seeds at that N.
        exposures: N -> exposures per individual at the plateau end (end × batch size / N), over the seeds
            (only runs that record ``data.batch_size``).
        batch_sizes: the distinct batch sizes of the group's runs (ascending).
        exponent_interval: bootstrap interval of ``b`` over seeds (``None``: one seed per N).
    """

    fit: PowerLaw
    ends: dict[int, SeedStat]
    exposures: dict[int, SeedStat]
    batch_sizes: tuple[int, ...]
    exponent_interval: Interval | None

    @property
    def batch_size(self) -> int | None:
        """The group's batch size when all its runs share one, else ``None``."""
        return self.batch_sizes[0] if len(self.batch_sizes) == 1 else None

    @property
    def ends_by_n(self) -> dict[int, list[float]]:
        """N -> the plateau ends of its seeds (steps)."""
        return {n: list(stat.values) for n, stat in self.ends.items()}

    def as_dict(self) -> dict[str, Any]:
        """For ``report.json``."""
        interval = self.exponent_interval
        return {
            "prefactor": self.fit.prefactor,
            "exponent": self.fit.exponent,
            "r2": self.fit.r2,
            "n_points": self.fit.n_points,
            "exponent_interval": None
            if interval is None
            else {
                "low": interval.low,
                "high": interval.high,
                "level": interval.level,
                "n_resamples": interval.n_resamples,
                "rng_seed": interval.rng_seed,
                "method": "percentile bootstrap, seeds resampled with replacement within each N",
            },
            "batch_sizes": list(self.batch_sizes),
            "plateau_end_by_n": {str(n): s.as_dict() for n, s in self.ends.items()},
            "exposures_by_n": {str(n): s.as_dict() for n, s in self.exposures.items()},
        }


def plateau_fit(members: Sequence[RunInfo]) -> PlateauFit | None:
    """The fit of one group's runs; ``None`` with fewer than :data:`MIN_N` population sizes."""
    ends: dict[int, list[tuple[int | None, float]]] = defaultdict(list)
    exposures: dict[int, list[tuple[int | None, float]]] = defaultdict(list)
    for n, end, info in plateau_points(members):
        ends[n].append((info.seed, end))
        if info.batch_size and end > 0:
            exposures[n].append((info.seed, end * info.batch_size / n))
    if len(ends) < MIN_N or any(end <= 0 for pairs in ends.values() for _, end in pairs):
        return None
    ns = sorted(ends)
    stats = {n: _stat(ends[n]) for n in ns}
    return PlateauFit(
        fit=fit_power_law(ns, [stats[n].mean for n in ns]),
        ends=stats,
        exposures={n: _stat(exposures[n]) for n in ns if exposures[n]},
        batch_sizes=tuple(sorted({int(i.batch_size) for i in members if i.batch_size})),
        exponent_interval=bootstrap_exponent(
            {n: stats[n].values for n in ns}, N_RESAMPLES, INTERVAL_LEVEL, RNG_SEED
        ),
    )


def plateau_fits(infos: Sequence[RunInfo], keys: list[str]) -> dict[str, PlateauFit]:
    """One fit per group of runs equal in everything but N, the seed and keys set by N (e.g. a step budget
    scaled with N), for groups with at least :data:`MIN_N` population sizes; keyed by a unique label
    (``all runs`` when nothing else varies)."""
    other = [k for k in keys if k != N_KEY and not determined_by_n(infos, k)]
    groups = group_by(infos, other)
    shown = [k for k in other if len({key[other.index(k)] for key in groups}) > 1]
    found: list[tuple[str, str, PlateauFit]] = []
    for _, members in sorted(groups.items(), key=lambda item: factor_order(item[0])):
        fit = plateau_fit(members)
        if fit is None:
            continue
        text = factor_text({k: members[0].config.get(k) for k in shown}) or "all runs"
        found.append((text, members[0].name, fit))
    labels = unique_labels([t for t, _, _ in found], [[name] for _, name, _ in found])
    return {label: fit for label, (_, _, fit) in zip(labels, found, strict=True)}
