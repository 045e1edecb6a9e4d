"""Seeds: runs that differ only in ``seed_everything`` form one group; statistics over a group's seeds.

In factdyn ``data.seed`` is linked to ``seed_everything``, so one seed sets the population (names and
attribute values), each individual's split of templates into training and held-out ones, the training
data stream and the model's initialisation, all at once. The spread over seeds is therefore the spread
over all four, not over initialisations alone.

Numbers only (no matplotlib): the figures draw :meth:`SeedGroup.curve`, the tables print
:meth:`SeedStat.format`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from factdyn.analysis.report.run_info import (
    MAX_LABEL,
    RunInfo,
    factor_order,
    factor_text,
    group_by,
    hashable,
    unique_labels,
)

BAND = "min–max over seeds"
"""What the shaded band around a mean curve spans (said in every figure legend, report.md and the docs).
Min–max rather than ±1 s.d.: with a handful of seeds an s.d. is itself poorly known, and
min–max shows where every seed's curve lies."""

SEED_MEANING = (
    "A seed is `seed_everything`, which `data.seed` follows: it sets the population, the split of each "
    "individual's templates, the training data stream and the initialisation together."
)
"""One sentence for report.md and figure captions on what varies between the seeds of a group."""


@dataclass(frozen=True)
class SeedStat:
    """One quantity over the seeds of a group.

    Args:
        seeds: the seeds, ascending (``None`` only for a run that recorded no seed, alone in its group).
        values: the quantity for each seed, in the order of ``seeds``.
    """

    seeds: tuple[int | None, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.seeds) != len(self.values) or not self.values:
            raise ValueError(f"SeedStat: {len(self.seeds)} seeds for {len(self.values)} values")

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def sd(self) -> float:
        """Sample standard deviation (ddof = 1); ``nan`` for one seed."""
        return float(np.std(self.values, ddof=1)) if self.n > 1 else math.nan

    @property
    def min(self) -> float:
        return float(np.min(self.values))

    @property
    def max(self) -> float:
        return float(np.max(self.values))

    def format(self, fmt: str = ".3g") -> str:
        """``mean ± sd (v1, v2, ...)`` with the per-seed values in seed order; ``v (1 seed)`` for one."""
        if self.n == 1:
            return f"{self.values[0]:{fmt}} (1 seed)"
        values = ", ".join(f"{v:{fmt}}" for v in self.values)
        return f"{self.mean:{fmt}} ± {self.sd:{fmt}} ({values})"

    def as_dict(self) -> dict[str, Any]:
        """For ``report.json``: seeds, values, n, mean, sd (``None`` for one seed), min, max."""
        return {
            "seeds": list(self.seeds),
            "values": list(self.values),
            "n": self.n,
            "mean": self.mean,
            "sd": None if self.n == 1 else self.sd,
            "min": self.min,
            "max": self.max,
        }


def _seed_order(seed: int | None) -> tuple[int, int]:
    return (1, 0) if seed is None else (0, int(seed))


def seed_stat(values: Mapping[int | None, float | None]) -> SeedStat | None:
    """The statistic of ``seed -> value``, leaving out missing (``None``) and non-finite values; ``None``
    when no value is left."""
    kept = {s: float(v) for s, v in values.items() if v is not None and math.isfinite(float(v))}
    if not kept:
        return None
    seeds = sorted(kept, key=_seed_order)
    return SeedStat(seeds=tuple(seeds), values=tuple(kept[s] for s in seeds))


@dataclass(frozen=True)
class SeedCurve:
    """A logged scalar over a group's seeds, on the evaluation steps every seed has.

    ``low`` / ``high`` span :data:`BAND` (equal to ``mean`` for one seed); ``n`` is the number of seeds.
    """

    steps: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: int

    def at(self, step: float) -> float:
        """The mean curve at ``step`` (linear between evaluations)."""
        return float(np.interp(step, self.steps, self.mean))


@dataclass
class SeedGroup:
    """Runs equal in every factor, one per seed (sorted by seed).

    Args:
        label: unique among the groups of one report: the factors (``key=value, ...``) and the number of
            seeds, ``... (n = 3 seeds)``.
        factors: the factor values the runs share (dotted config key -> value).
        runs: the runs, by ascending seed.
    """

    label: str
    factors: dict[str, Any]
    runs: list[RunInfo] = field(default_factory=list)

    @property
    def seeds(self) -> tuple[int | None, ...]:
        return tuple(run.seed for run in self.runs)

    @property
    def n(self) -> int:
        return len(self.runs)

    def stat(self, fn: Callable[[RunInfo], float | None]) -> SeedStat | None:
        """``fn`` of each run (``None``: the run has no such value) over the group's seeds."""
        return seed_stat({run.seed: fn(run) for run in self.runs})

    def curve(self, tag: str, evaluation: str | None = None) -> SeedCurve | None:
        """Mean and band of ``tag`` over the seeds that logged it, on the steps they all have; ``None`` when
        no seed logged it or they share no step. With ``evaluation``, the tag of that evaluation of the
        runs' checkpoints (:meth:`RunInfo.evaluation_curve`) instead of the run's own log."""
        if evaluation is None:
            found = (run.curve(tag) for run in self.runs)
        else:
            found = (run.evaluation_curve(evaluation, tag) for run in self.runs)
        curves = [c for c in found if c is not None]
        if not curves:
            return None
        common = sorted(set.intersection(*(set(s.tolist()) for s, _ in curves)))
        if not common:
            return None
        stack = np.stack([v[np.searchsorted(s, common)] for s, v in curves])
        return SeedCurve(
            steps=np.asarray(common),
            mean=stack.mean(0),
            low=stack.min(0),
            high=stack.max(0),
            n=len(curves),
        )


def seeds_text(n: int) -> str:
    """``n = 3 seeds`` / ``n = 1 seed``."""
    return f"n = {n} seed{'s' if n != 1 else ''}"


def _run_path_tail(info: RunInfo) -> str:
    """``<name>/version_<k>``: tells apart runs of one logger name."""
    return "/".join(info.run.path.parts[-2:])


def _without_seed(name: str) -> str:
    """A sweep's run name without its seed part (``plateau-n=1000-seed=0`` -> ``plateau-n=1000``)."""
    head, sep, tail = name.rpartition("seed=")
    if sep and tail.isdigit():
        return head.rstrip("-_,")
    return name


def seed_groups(infos: Sequence[RunInfo], keys: Sequence[str]) -> list[SeedGroup]:
    """Group the runs that differ only in their seed.

    ``keys`` are the factors (usually :func:`~factdyn.analysis.report.run_info.varying_keys`): runs equal in
    all of them are one group. Within a group each seed appears once: a second run with a seed already
    there (a rerun, or the same run in two folders), or a run that recorded no seed, starts a further group
    (labels that would clash get the run name, else a number). Groups come in order of their factor values
    (numbers first, by value); labels name the factors that vary among ``infos``.
    """
    keys = list(keys)
    buckets = group_by(infos, keys)
    shown = [k for k in keys if len({hashable(i.config.get(k)) for i in infos}) > 1]

    raw: list[tuple[dict[str, Any], list[RunInfo]]] = []
    for _, members in sorted(buckets.items(), key=lambda item: factor_order(item[0])):
        copies: list[list[RunInfo]] = []
        for info in sorted(members, key=lambda i: (_seed_order(i.seed), str(i.run.path))):
            home = next(
                (c for c in copies if info.seed is not None and info.seed not in {r.seed for r in c}), None
            )
            if home is None:
                copies.append([info])
            else:
                home.append(info)
        factors = {k: members[0].config.get(k) for k in keys}
        raw += [(factors, sorted(c, key=lambda i: _seed_order(i.seed))) for c in copies]
    bases = []
    for factors, runs in raw:
        text = factor_text({k: factors[k] for k in shown})
        if not text or len(text) > MAX_LABEL:
            text = "all runs" if len(raw) == 1 else _without_seed(runs[0].name)
        bases.append(text)
    suffixes = [[_without_seed(r[0].name), r[0].name, _run_path_tail(r[0])] for _, r in raw]
    labels = unique_labels(bases, suffixes)
    return [
        SeedGroup(label=f"{text} ({seeds_text(len(runs))})", factors=factors, runs=runs)
        for text, (factors, runs) in zip(labels, raw, strict=True)
    ]
