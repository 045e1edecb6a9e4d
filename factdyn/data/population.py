"""Individuals: unique names, attribute values and a per-individual train/eval template split.

Three disjoint populations come from one seed: ``train`` (the N individuals training samples from),
``unseen`` (held out, never trained on; hallucination metrics) and ``new`` (fine-tuning on new knowledge).
Each role has its own random stream, so the training population does not change when ``n_unseen`` or
``n_new`` change; names are unique across all three.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from factdyn.checks import ConfigError

ROLES: tuple[str, ...] = ("train", "unseen", "new")

EVAL_SETS: tuple[str, ...] = ("val", "unseen", "new")
"""Evaluation sets, all on held-out templates: the pre-training individuals (``val``), individuals never
trained on (``unseen``) and the fine-tuning individuals (``new``, only when ``n_new > 0``)."""

EVAL_ROLES: dict[str, str] = {"val": "train", "unseen": "unseen", "new": "new"}
"""The population each evaluation set is drawn from."""


def no_knowledge_baseline(cardinalities: Sequence[int]) -> float:
    """Best attribute loss without individual-specific knowledge: mean of log(cardinality)."""
    return sum(math.log(c) for c in cardinalities) / len(cardinalities)


@dataclass(frozen=True)
class Population:
    """A set of individuals, stored as integer indices into the resource lists.

    Attributes:
        names: (n, 3) indices of first name, middle name (both into the first-name list) and last name.
        values: (n, 6) index of each attribute's value in its value list.
        train_templates: (n, 6, n_templates_train) template indices an individual is trained on.
        eval_templates: (n, 6, n_templates_eval) held-out template indices, disjoint from the training ones.
    """

    role: str
    names: np.ndarray
    values: np.ndarray
    train_templates: np.ndarray
    eval_templates: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def templates(self, split: str) -> np.ndarray:
        if split == "train":
            return self.train_templates
        if split == "eval":
            return self.eval_templates
        raise ValueError(f"template split must be 'train' or 'eval', got {split!r}")


def _unique_name_codes(rng: np.random.Generator, n: int, space: int, taken: np.ndarray) -> np.ndarray:
    """Draw ``n`` distinct integer name codes in [0, space), none of them in ``taken``."""
    codes = np.empty(0, dtype=np.int64)
    while len(codes) < n:
        draw = rng.integers(0, space, size=int((n - len(codes)) * 1.1) + 16, dtype=np.int64)
        draw = draw[~np.isin(draw, taken) & ~np.isin(draw, codes)]
        _, first = np.unique(draw, return_index=True)
        codes = np.concatenate([codes, draw[np.sort(first)]])
    return codes[:n]


def require_name_space(sizes: dict[str, int], n_first_names: int, n_last_names: int) -> int:
    """The number of distinct names (first, middle, last); a ConfigError if ``sizes`` need more."""
    space = n_first_names * n_first_names * n_last_names
    if sum(sizes.values()) > space:
        raise ConfigError(
            "data.n_individuals + data.n_unseen + data.n_new",
            f"at most {space} (the distinct first, middle and last name combinations)",
            sum(sizes.values()),
        )
    return space


def make_populations(
    seed: int,
    sizes: dict[str, int],
    n_first_names: int,
    n_last_names: int,
    cardinalities: list[int],
    n_templates: int,
    n_templates_train: int,
    n_templates_eval: int,
) -> dict[str, Population]:
    """Build the disjoint populations named in ``sizes`` (keys from :data:`ROLES`)."""
    space = require_name_space(sizes, n_first_names, n_last_names)
    taken = np.empty(0, dtype=np.int64)
    populations = {}
    for role_id, role in enumerate(ROLES):
        n = sizes.get(role, 0)
        rng = np.random.default_rng([seed, role_id])
        codes = _unique_name_codes(rng, n, space, taken)
        taken = np.concatenate([taken, codes])
        names = np.stack(
            [
                codes // (n_first_names * n_last_names),
                (codes // n_last_names) % n_first_names,
                codes % n_last_names,
            ],
            axis=1,
        )
        values = np.stack([rng.integers(0, c, size=n) for c in cardinalities], axis=1)
        order = np.argsort(rng.random((n, len(cardinalities), n_templates)), axis=2)
        populations[role] = Population(
            role=role,
            names=names,
            values=values,
            train_templates=np.ascontiguousarray(order[:, :, :n_templates_train]),
            # Held-out templates are the last ones of the permutation, so they stay the same when the
            # template ablation changes n_templates_train.
            eval_templates=np.ascontiguousarray(order[:, :, n_templates - n_templates_eval :]),
        )
    return populations


def concat_populations(populations: list[Population]) -> Population:
    """One population made of several, in order (the training index space of ``data.train_roles``)."""
    if len(populations) == 1:
        return populations[0]
    return Population(
        role="+".join(p.role for p in populations),
        names=np.concatenate([p.names for p in populations]),
        values=np.concatenate([p.values for p in populations]),
        train_templates=np.concatenate([p.train_templates for p in populations]),
        eval_templates=np.concatenate([p.eval_templates for p in populations]),
    )
