"""Which training individuals the knowledge panel follows: a fixed, seeded draw covering every bucket.

The panel (``factdyn.callbacks.KnowledgePanel``) evaluates the same individuals at every evaluation, so the
draw depends only on the data seed, the size and the sampler's frequency buckets. Buckets get equal shares
(water-filling: a bucket smaller than its share gives all its individuals and the rest is shared among the
others), so that the rare bucket of a skewed sampler (the celebrities, the new individuals of a replay
mixture) is as well covered as the large one; within a bucket the choice is uniform without replacement.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PANEL_SALT = 20_001
"""Salt of the panel's draw, ``default_rng([seed, PANEL_SALT])`` (AttentionStatistics' batch uses 20,000)."""


def bucket_shares(bucket_sizes: Sequence[int], size: int) -> np.ndarray:
    """How many panel individuals each bucket gives: equal shares of ``size``, capped by the bucket's size.

    Smallest buckets first, each takes ``min(its size, what is left // buckets left)``, so the shares add up
    to ``min(size, total)`` and differ by at most one among buckets that are not exhausted.
    """
    sizes = np.asarray(bucket_sizes, dtype=np.int64)
    shares = np.zeros(len(sizes), dtype=np.int64)
    left = min(int(size), int(sizes.sum()))
    order = np.argsort(sizes, kind="stable")
    for i, b in enumerate(order):
        shares[b] = min(int(sizes[b]), left // (len(order) - i))
        left -= int(shares[b])
    return shares


def draw_panel(n_individuals: int, size: int, buckets: np.ndarray | None, seed: int) -> np.ndarray:
    """The panel: ``min(size, n_individuals)`` distinct indices of the training index space, sorted.

    Args:
        n_individuals: size of the training index space.
        size: wanted panel size.
        buckets: each individual's bucket (``IndividualSampler.buckets()``), ``None`` for one bucket.
        seed: the data seed.
    """
    buckets = np.zeros(n_individuals, dtype=np.int64) if buckets is None else np.asarray(buckets)
    rng = np.random.default_rng([seed, PANEL_SALT])
    labels, sizes = np.unique(buckets, return_counts=True)
    chosen = [
        rng.choice(np.flatnonzero(buckets == label), size=share, replace=False)
        for label, share in zip(labels, bucket_shares(sizes, size), strict=True)
    ]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def role_names(roles: Sequence[tuple[str, int]], individuals: np.ndarray) -> np.ndarray:
    """The role (``data.train_roles`` name: ``train``, ``new``) of each index of the training index space,
    which concatenates the roles' populations in order."""
    names = np.array([role for role, _ in roles])
    ends = np.cumsum([n for _, n in roles])
    return names[np.searchsorted(ends, np.asarray(individuals), side="right")]
