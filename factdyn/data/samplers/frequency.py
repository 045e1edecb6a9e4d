"""Frequency samplers: fixed non-uniform distributions over individuals (paper App. B.2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from factdyn.checks import require_at_most_n, require_int, require_number
from factdyn.data.samplers.base import IndividualSampler


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
        require_number("data.sampler.alpha", alpha, 0)
        if permutation_seed is not None:
            require_int("data.sampler.permutation_seed", permutation_seed, 0)
        require_int("data.sampler.n_buckets", n_buckets, 1)
        self.alpha = float(alpha)
        self.permutation_seed = permutation_seed
        self.n_buckets = n_buckets
        self.rank = np.empty(0, dtype=np.int64)
        self._p = np.empty(0)

    def bind(
        self, n_individuals: int, batch_size: int, seed: int, roles: Sequence[tuple[str, int]] | None = None
    ) -> None:
        super().bind(n_individuals, batch_size, seed, roles)
        require_at_most_n("data.sampler.n_buckets", self.n_buckets, n_individuals)
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
        require_int("data.sampler.n_celebrities", n_celebrities, 0)
        require_number("data.sampler.weight", weight, 0, low_open=True)
        self.n_celebrities = n_celebrities
        self.weight = float(weight)
        self.celebrities = np.empty(0, dtype=np.int64)
        self._p = np.empty(0)

    def bind(
        self, n_individuals: int, batch_size: int, seed: int, roles: Sequence[tuple[str, int]] | None = None
    ) -> None:
        super().bind(n_individuals, batch_size, seed, roles)
        require_at_most_n("data.sampler.n_celebrities", self.n_celebrities, n_individuals)
        self.celebrities = self._seeded_subset(self.SALT, self.n_celebrities)
        w = np.ones(n_individuals)
        w[self.celebrities] = self.weight
        self._p = w / w.sum()

    def probabilities(self, step: int) -> np.ndarray:
        return self._p

    def buckets(self) -> np.ndarray:
        """0 for celebrities, 1 for the others."""
        return self._subset_buckets(self.celebrities)

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
