"""Individual samplers: which individuals the next training batch is about.

A sampler is bound to the training index space (its size, the batch size, the seed and the roles that make it
up) by the DataModule, then asked for the individuals of training step ``step`` with a random generator seeded
from ``(seed, step, rank)``. Because the draw is a function of the step, a resumed run replays exactly the
stream of an uninterrupted one, and DDP ranks draw independent streams (sharding happens here, inside the
stream, so Lightning must not wrap it: ``use_distributed_sampler=False``). Samplers whose distribution is
changed from outside (e.g. the replay weight set by the ``ReplayMixing`` callback) keep that in
``state_dict``, which the DataModule stores in checkpoints.

The samplers of the paper (App. B.2, F.1, F.5) are :class:`Uniform`, :class:`Zipf`, :class:`Celebrities`,
:class:`WarmUp`, :class:`SequentialGroups` (alternating groups are ``n_groups=2, n_repeats>1``) and
:class:`ReplayMixture`. Every seeded choice (Zipf ranks, the celebrities, the warm-up subset) comes from
``np.random.default_rng([seed, SALT])`` with a per-class salt, so it is fixed by ``data.seed`` alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class IndividualSampler:
    """Base class: a distribution over individuals ``0..N-1`` that may change with the training step.

    Subclasses override :meth:`probabilities` (return ``None`` for uniform), validate their arguments in
    :meth:`bind` (errors name the config field, e.g. ``data.sampler.alpha``), may split individuals into
    frequency buckets (:meth:`buckets`) and, when they keep state, :meth:`state_dict` /
    :meth:`load_state_dict`.
    """

    def __init__(self) -> None:
        self.n_individuals = 0
        self.batch_size = 1
        self.seed = 0
        self.roles: tuple[tuple[str, int], ...] = ()
        self._cdf_cache: tuple[Any, np.ndarray | None] | None = None

    def bind(
        self, n_individuals: int, batch_size: int, seed: int, roles: Sequence[tuple[str, int]] | None = None
    ) -> None:
        """Attach to a population; subclasses validate their arguments against it here.

        Args:
            n_individuals: size of the training index space.
            batch_size: sequences per step and per device (defines an epoch).
            seed: the data seed; every seeded choice of the sampler derives from it.
            roles: ``(role, size)`` of the populations concatenated, in order, into the index space
                (default: one role ``train`` of size ``n_individuals``).
        """
        self.n_individuals = n_individuals
        self.batch_size = batch_size
        self.seed = seed
        self.roles = tuple((str(r), int(n)) for r, n in roles) if roles else (("train", n_individuals),)
        if sum(n for _, n in self.roles) != n_individuals:
            raise ValueError(f"sampler roles {self.roles} do not add up to {n_individuals} individuals")
        self._cdf_cache = None

    def set_horizon(self, max_steps: int) -> None:
        """Told the run's ``trainer.max_steps`` before training (samplers that derive a schedule from it)."""

    def steps_per_epoch(self) -> int:
        """One epoch is N / batch_size steps (as many biographies as individuals), as in the paper."""
        return max(1, round(self.n_individuals / self.batch_size))

    def probabilities(self, step: int) -> np.ndarray | None:
        """Probability of each individual at ``step``; ``None`` means uniform."""
        return None

    def phase_key(self, step: int) -> Any:
        """A key that changes exactly when :meth:`probabilities` does (lets the CDF be cached)."""
        return None

    def sample(self, step: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        key = self.phase_key(step)
        if self._cdf_cache is None or self._cdf_cache[0] != key:
            p = self.probabilities(step)
            self._cdf_cache = (key, None if p is None else np.cumsum(p / p.sum()))
        cdf = self._cdf_cache[1]
        if cdf is None:
            return rng.integers(0, self.n_individuals, size=batch_size)
        idx = np.searchsorted(cdf, rng.random(batch_size) * cdf[-1], side="right")
        return np.minimum(idx, self.n_individuals - 1)

    def buckets(self) -> np.ndarray | None:
        """Each individual's frequency bucket (0 = most frequent), or ``None`` when all are alike."""
        return None

    def annotations(self) -> dict[str, np.ndarray]:
        """Per-individual columns written next to the exposure counts (bucket, Zipf rank, ...)."""
        b = self.buckets()
        return {} if b is None else {"bucket": b}

    def describe(self) -> dict[str, Any]:
        """What to record about this sampler in the run directory."""
        return {
            "sampler": type(self).__name__,
            "n_individuals": self.n_individuals,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "roles": [list(r) for r in self.roles],
            "steps_per_epoch": self.steps_per_epoch(),
        }

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._cdf_cache = None

    # Helpers for subclasses.
    def _seeded_rng(self, salt: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, salt])

    def _seeded_subset(self, salt: int, size: int) -> np.ndarray:
        """A seeded random subset of ``size`` individuals, sorted."""
        return np.sort(self._seeded_rng(salt).permutation(self.n_individuals)[:size])


def _check_number(field: str, value: Any, low: float, *, strict: bool = False, integer: bool = False) -> None:
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if not ok_type or isinstance(value, bool) or not np.isfinite(value):
        kind = "an integer" if integer else "a finite number"
        raise TypeError(f"{field} must be {kind}, got {value!r}")
    if value < low or (strict and value == low):
        raise ValueError(f"{field} must be {'>' if strict else '>='} {low}, got {value}")


def _check_at_most_n(field: str, value: int, n: int) -> None:
    if value > n:
        raise ValueError(f"{field} must be at most the number of training individuals ({n}), got {value}")


class Uniform(IndividualSampler):
    """Every individual equally likely (the paper's default)."""


class Zipf(IndividualSampler):
    """Inverse power law: P(i) ∝ rank(i)^(−α) (paper App. B.2; α = 0 is uniform, α = 1 is Zipf's law).

    Which individual gets which rank is a seeded permutation (``permutation_seed``, default the data seed);
    ``describe()`` records the seed and the exposure file records every individual's rank.

    Args:
        alpha: the exponent α >= 0 (paper sweep: 0, 0.2, ..., 1; best plateau at 0.6-0.8).
        permutation_seed: seed of the rank permutation; ``None`` uses ``data.seed``.
        n_buckets: frequency buckets for the per-bucket metrics (by rank: 10 gives deciles).
    """

    SALT = 1_001

    def __init__(self, alpha: float = 1.0, permutation_seed: int | None = None, n_buckets: int = 10) -> None:
        super().__init__()
        _check_number("data.sampler.alpha", alpha, 0)
        if permutation_seed is not None:
            _check_number("data.sampler.permutation_seed", permutation_seed, 0, integer=True)
        _check_number("data.sampler.n_buckets", n_buckets, 1, integer=True)
        self.alpha = float(alpha)
        self.permutation_seed = permutation_seed
        self.n_buckets = n_buckets
        self.rank = np.empty(0, dtype=np.int64)
        self._p = np.empty(0)

    def bind(self, n_individuals: int, batch_size: int, seed: int, roles=None) -> None:
        super().bind(n_individuals, batch_size, seed, roles)
        _check_at_most_n("data.sampler.n_buckets", self.n_buckets, n_individuals)
        perm_seed = seed if self.permutation_seed is None else self.permutation_seed
        order = np.random.default_rng([perm_seed, self.SALT]).permutation(n_individuals)
        self.rank = np.empty(n_individuals, dtype=np.int64)
        self.rank[order] = np.arange(1, n_individuals + 1)  # order[0] is the most frequent individual
        p = self.rank.astype(np.float64) ** (-self.alpha)
        self._p = p / p.sum()

    def probabilities(self, step: int) -> np.ndarray:
        return self._p

    def buckets(self) -> np.ndarray:
        return (self.rank - 1) * self.n_buckets // self.n_individuals

    def annotations(self) -> dict[str, np.ndarray]:
        return {"rank": self.rank, "probability": self._p, "bucket": self.buckets()}

    def describe(self) -> dict[str, Any]:
        seed = self.seed if self.permutation_seed is None else self.permutation_seed
        top = self._p.max() if len(self._p) else float("nan")
        return {
            **super().describe(),
            "alpha": self.alpha,
            "permutation_seed": seed,
            "rank_permutation": f"default_rng([{seed}, {self.SALT}]).permutation(N)[r - 1] has rank r",
            "max_over_min_probability": float(top / self._p.min()) if len(self._p) else None,
            "n_buckets": self.n_buckets,
        }


class Celebrities(IndividualSampler):
    """``n_celebrities`` seeded individuals sampled ``weight`` times more often than the rest (App. B.2).

    Args:
        n_celebrities: size of the celebrity subset (paper: 4k, 16k or 64k of 64k; best 4k).
        weight: how many times more likely a celebrity is than another individual (paper: 2-16; best 8).
    """

    SALT = 1_002

    def __init__(self, n_celebrities: int = 4_000, weight: float = 8.0) -> None:
        super().__init__()
        _check_number("data.sampler.n_celebrities", n_celebrities, 0, integer=True)
        _check_number("data.sampler.weight", weight, 0, strict=True)
        self.n_celebrities = n_celebrities
        self.weight = float(weight)
        self.celebrities = np.empty(0, dtype=np.int64)
        self._p = np.empty(0)

    def bind(self, n_individuals: int, batch_size: int, seed: int, roles=None) -> None:
        super().bind(n_individuals, batch_size, seed, roles)
        _check_at_most_n("data.sampler.n_celebrities", self.n_celebrities, n_individuals)
        self.celebrities = self._seeded_subset(self.SALT, self.n_celebrities)
        w = np.ones(n_individuals)
        w[self.celebrities] = self.weight
        self._p = w / w.sum()

    def probabilities(self, step: int) -> np.ndarray:
        return self._p

    def buckets(self) -> np.ndarray:
        """0 for celebrities, 1 for the others."""
        b = np.ones(self.n_individuals, dtype=np.int64)
        b[self.celebrities] = 0
        return b

    def celebrity_fraction(self) -> float:
        """Expected fraction of sampled biographies that are about a celebrity."""
        return float(self._p[self.celebrities].sum())

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "n_celebrities": self.n_celebrities,
            "weight": self.weight,
            "celebrity_fraction": self.celebrity_fraction(),
        }


class WarmUp(IndividualSampler):
    """Uniform over a seeded subset of ``warmup_individuals`` for ``warmup_epochs`` epochs, then over all.

    One epoch is N / batch_size steps of the whole population (paper App. B.2), so the switch happens at step
    ``round(warmup_epochs * N / batch_size)``. Sampling is uniform within each phase. The paper uses whole
    epochs; fractional ones are allowed (the CPU scale needs them).

    Args:
        warmup_individuals: size of the warm-up subset (paper best at N = 64k: 8k).
        warmup_epochs: length of the warm-up in epochs of the whole population (paper best at 64k: 3, i.e.
            1.5k steps).
    """

    SALT = 1_003

    def __init__(self, warmup_individuals: int = 8_000, warmup_epochs: float = 3.0) -> None:
        super().__init__()
        _check_number("data.sampler.warmup_individuals", warmup_individuals, 0, strict=True, integer=True)
        _check_number("data.sampler.warmup_epochs", warmup_epochs, 0)
        self.warmup_individuals = warmup_individuals
        self.warmup_epochs = float(warmup_epochs)
        self.subset = np.empty(0, dtype=np.int64)

    def bind(self, n_individuals: int, batch_size: int, seed: int, roles=None) -> None:
        super().bind(n_individuals, batch_size, seed, roles)
        _check_at_most_n("data.sampler.warmup_individuals", self.warmup_individuals, n_individuals)
        self.subset = self._seeded_subset(self.SALT, self.warmup_individuals)

    def warmup_steps(self) -> int:
        """Training steps spent on the subset."""
        return round(self.warmup_epochs * self.n_individuals / self.batch_size)

    def in_warmup(self, step: int) -> bool:
        return step < self.warmup_steps()

    def phase_key(self, step: int) -> bool:
        return self.in_warmup(step)

    def probabilities(self, step: int) -> np.ndarray | None:
        if not self.in_warmup(step):
            return None
        p = np.zeros(self.n_individuals)
        p[self.subset] = 1.0 / len(self.subset)
        return p

    def sample(self, step: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        if self.in_warmup(step):
            return self.subset[rng.integers(0, len(self.subset), size=batch_size)]
        return rng.integers(0, self.n_individuals, size=batch_size)

    def buckets(self) -> np.ndarray:
        """0 for the warm-up subset, 1 for the others."""
        b = np.ones(self.n_individuals, dtype=np.int64)
        b[self.subset] = 0
        return b

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "warmup_individuals": self.warmup_individuals,
            "warmup_epochs": self.warmup_epochs,
            "warmup_steps": self.warmup_steps(),
        }


class SequentialGroups(IndividualSampler):
    """The population split into ``n_groups`` groups visited in order, ``n_repeats`` times (paper App. F.5).

    Groups are contiguous index ranges (individual ids are already random). Sampling is uniform within the
    current group. Alternating groups (Fig. V) are ``n_groups=2, n_repeats=2..8``. After the last visit the
    sampler stays on the last group.

    Args:
        n_groups: number of groups (paper: 4, 8, 16; 32 in Fig. U; 2 for alternating).
        n_repeats: passes over all groups (paper: 1 for sequential; 2, 4, 8 loops for alternating).
        steps_per_group: steps spent on a group per visit; ``None`` splits ``trainer.max_steps`` evenly
            (max_steps // (n_groups * n_repeats)), as in the paper (64k, 16k steps, 4 groups: 4k per group).
    """

    def __init__(self, n_groups: int = 4, n_repeats: int = 1, steps_per_group: int | None = None) -> None:
        super().__init__()
        _check_number("data.sampler.n_groups", n_groups, 1, integer=True)
        _check_number("data.sampler.n_repeats", n_repeats, 1, integer=True)
        if steps_per_group is not None:
            _check_number("data.sampler.steps_per_group", steps_per_group, 1, integer=True)
        self.n_groups = n_groups
        self.n_repeats = n_repeats
        self.steps_per_group = steps_per_group
        self.bounds = np.zeros(1, dtype=np.int64)

    def bind(self, n_individuals: int, batch_size: int, seed: int, roles=None) -> None:
        super().bind(n_individuals, batch_size, seed, roles)
        _check_at_most_n("data.sampler.n_groups", self.n_groups, n_individuals)
        self.bounds = np.linspace(0, n_individuals, self.n_groups + 1).round().astype(np.int64)

    def set_horizon(self, max_steps: int) -> None:
        if self.steps_per_group is not None:
            return
        visits = self.n_groups * self.n_repeats
        if max_steps < visits:
            raise ValueError(
                "data.sampler.steps_per_group is null, so trainer.max_steps must be at least "
                f"n_groups * n_repeats = {visits} to split it between the groups, got {max_steps}"
            )
        self.steps_per_group = max_steps // visits

    def group_at(self, step: int) -> int:
        if self.steps_per_group is None:
            raise RuntimeError(
                "SequentialGroups needs data.sampler.steps_per_group, or trainer.max_steps to derive it"
            )
        visit = min(step // self.steps_per_group, self.n_groups * self.n_repeats - 1)
        return visit % self.n_groups

    def phase_key(self, step: int) -> int:
        return self.group_at(step)

    def probabilities(self, step: int) -> np.ndarray:
        g = self.group_at(step)
        p = np.zeros(self.n_individuals)
        p[self.bounds[g] : self.bounds[g + 1]] = 1.0 / (self.bounds[g + 1] - self.bounds[g])
        return p

    def sample(self, step: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        g = self.group_at(step)
        return rng.integers(self.bounds[g], self.bounds[g + 1], size=batch_size)

    def buckets(self) -> np.ndarray:
        """The group index of each individual."""
        return np.searchsorted(self.bounds, np.arange(self.n_individuals), side="right") - 1

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "n_groups": self.n_groups,
            "n_repeats": self.n_repeats,
            "steps_per_group": self.steps_per_group,
            "group_bounds": self.bounds.tolist(),
        }


class ReplayMixture(IndividualSampler):
    """Fine-tuning with replay: new individuals with weight 1, previously trained ones with ``replay_weight``.

    The index space is the concatenation of ``data.train_roles`` in order (e.g. ``[new, train]``): the first
    role's individuals are the new ones, all later roles are replayed (paper App. F.1, "celebrities" scheme
    with every pre-training individual at weight ``weight_replay_finetune``). The ratio is explicit:
    :meth:`replay_fraction` is the expected fraction of replayed sequences. The weight may follow a
    piecewise-constant schedule over steps (set by the ``ReplayMixing`` callback), stored in checkpoints.

    Args:
        replay_weight: weight of each replayed individual relative to a new one (paper: 2 ... 1/32; 0 turns
            replay off).
    """

    def __init__(self, replay_weight: float = 1.0) -> None:
        super().__init__()
        _check_number("data.sampler.replay_weight", replay_weight, 0)
        self.replay_weight = float(replay_weight)
        self.schedule: list[tuple[int, float]] = []
        self.n_new = 0

    def bind(self, n_individuals: int, batch_size: int, seed: int, roles=None) -> None:
        super().bind(n_individuals, batch_size, seed, roles)
        if len(self.roles) < 2 or self.roles[0][1] == 0:
            raise ValueError(
                "data.sampler ReplayMixture needs data.train_roles with the new individuals first and at "
                "least one replayed role after them (e.g. [new, train], with data.n_new > 0), got "
                f"{self.roles}"
            )
        self.n_new = self.roles[0][1]

    def set_schedule(self, schedule: Sequence[tuple[int, float]]) -> None:
        """Replay weight from each ``step`` on (before the first entry: ``replay_weight``)."""
        points = sorted((int(s), float(w)) for s, w in schedule)
        for s, w in points:
            _check_number("ReplayMixing.schedule step", s, 0, integer=True)
            _check_number("ReplayMixing.schedule weight", w, 0)
        self.schedule = points
        self._cdf_cache = None

    def weight_at(self, step: int) -> float:
        weight = self.replay_weight
        for s, w in self.schedule:
            if step >= s:
                weight = w
        return weight

    def replay_fraction(self, step: int = 0) -> float:
        """Expected fraction of sampled sequences that are replayed (not new) at ``step``."""
        w = self.weight_at(step) * (self.n_individuals - self.n_new)
        return w / (w + self.n_new)

    def phase_key(self, step: int) -> float:
        return self.weight_at(step)

    def probabilities(self, step: int) -> np.ndarray:
        w = np.full(self.n_individuals, self.weight_at(step))
        w[: self.n_new] = 1.0
        return w / w.sum()

    def sample(self, step: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        # Two-stage draw (replayed or new, then uniform within) is exact and O(batch), whatever N is.
        replayed = rng.random(batch_size) < self.replay_fraction(step)
        new = rng.integers(0, self.n_new, size=batch_size)
        old = rng.integers(self.n_new, self.n_individuals, size=batch_size)
        return np.where(replayed, old, new)

    def is_replayed(self, individuals: np.ndarray) -> np.ndarray:
        return np.asarray(individuals) >= self.n_new

    def buckets(self) -> np.ndarray:
        """0 for new individuals, 1 for replayed ones."""
        return (np.arange(self.n_individuals) >= self.n_new).astype(np.int64)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "replay_weight": self.replay_weight,
            "schedule": [list(p) for p in self.schedule],
            "n_new": self.n_new,
            "replay_fraction_at_start": self.replay_fraction(0),
        }

    def state_dict(self) -> dict[str, Any]:
        return {"replay_weight": self.replay_weight, "schedule": [list(p) for p in self.schedule]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.replay_weight = float(state.get("replay_weight", self.replay_weight))
        self.set_schedule([tuple(p) for p in state.get("schedule", [])])


SAMPLERS = (Uniform, Zipf, Celebrities, WarmUp, SequentialGroups, ReplayMixture)
