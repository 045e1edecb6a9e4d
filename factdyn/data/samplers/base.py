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

import inspect
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

    def epochs_to_steps(self, epochs: float) -> int:
        """Training steps in ``epochs`` epochs: one epoch is N / batch_size steps (as many biographies as
        individuals), as in the paper; rounded to the nearest step."""
        return round(epochs * self.n_individuals / self.batch_size)

    def steps_per_epoch(self) -> int:
        """Steps of one epoch (at least one)."""
        return max(1, self.epochs_to_steps(1))

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

    @classmethod
    def argument_names(cls) -> tuple[str, ...]:
        """The names of this sampler's ``__init__`` arguments (``data.sampler.<name>``)."""
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        return tuple(p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def arguments(self) -> dict[str, Any]:
        """The arguments this sampler was built with, read back from the same-named attributes every
        sampler keeps: the ``init_args`` that rebuild it."""
        return {name: getattr(self, name) for name in self.argument_names()}

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

    def _subset_buckets(self, subset: np.ndarray) -> np.ndarray:
        """Bucket 0 for the individuals of ``subset``, 1 for the others."""
        b = np.ones(self.n_individuals, dtype=np.int64)
        b[subset] = 0
        return b

    def _seeded_subset(self, salt: int, size: int) -> np.ndarray:
        """A seeded random subset of ``size`` individuals, sorted."""
        return np.sort(self._seeded_rng(salt).permutation(self.n_individuals)[:size])


class Uniform(IndividualSampler):
    """Every individual equally likely (the paper's default)."""
