"""The toy memory's data: unit-norm Gaussian keys with uniform labels, a seeded stream, the DataModule."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, get_args

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from factdyn.checks import require, require_choice, require_int, require_number

TOY_SETS: tuple[str, ...] = ("old", "new")
ToyStage = Literal["pretrain", "finetune"]


def toy_pairs(n: int, dim: int, n_classes: int, seed: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit-norm Gaussian keys (n, dim) float32 and their uniform labels (n,) int64.

    ``stream`` separates the old and new pairs, so changing ``n_new`` never changes the old pairs.
    """
    rng = np.random.default_rng([seed, stream])
    keys = rng.standard_normal((n, dim))
    keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    return keys.astype(np.float32), rng.integers(0, n_classes, size=n)


class ToyPairStream(IterableDataset):
    """Endless batches; batch ``k`` is drawn from ``rng([seed, k])`` with probabilities ``p``."""

    def __init__(
        self,
        keys: torch.Tensor,
        labels: torch.Tensor,
        p: np.ndarray,
        batch_size: int,
        seed: int,
        start_step: int,
    ) -> None:
        self.keys, self.labels, self.cdf = keys, labels, np.cumsum(p / p.sum())
        self.batch_size, self.seed, self.start_step = batch_size, seed, start_step

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        step = self.start_step
        while True:
            rng = np.random.default_rng([self.seed, 1_000, step])
            idx = np.minimum(
                np.searchsorted(self.cdf, rng.random(self.batch_size), side="right"), len(self.cdf) - 1
            )
            idx = torch.from_numpy(idx)
            yield {"keys": self.keys[idx], "labels": self.labels[idx]}
            step += 1


class ToyMemoryData(L.LightningDataModule):
    """Key-value pairs for the toy memory: ``n_pretrain`` old pairs and ``n_new`` new, disjoint pairs.

    Args:
        stage: ``pretrain`` (train on the old pairs) or ``finetune`` (train on the new pairs, replaying old
            ones at ``replay_weight``).
        n_pretrain: old (pre-training) pairs (paper: 8,192).
        n_new: new pairs for fine-tuning (paper: 32 to 1,024).
        replay_weight: sampling weight of each old pair relative to 1 for each new pair while fine-tuning
            (0: no replay). With 2 old pairs, 1 new pair and weight 2 the probabilities are 2/5, 2/5, 1/5.
        dim: key dimension (paper: 64).
        n_classes: number of values (paper: 30).
        batch_size: pairs per step (paper: 128).
        eval_batch_size: pairs per evaluation batch.
        seed: seed of the pairs and of the training stream.
    """

    def __init__(
        self,
        stage: ToyStage = "pretrain",
        n_pretrain: int = 8192,
        n_new: int = 0,
        replay_weight: float = 0.0,
        dim: int = 64,
        n_classes: int = 30,
        batch_size: int = 128,
        eval_batch_size: int = 4096,
        seed: int = 0,
    ) -> None:
        super().__init__()
        require_choice("data.stage", stage, get_args(ToyStage))
        for field, value, low in (
            ("n_pretrain", n_pretrain, 1),
            ("n_new", n_new, 0),
            ("dim", dim, 1),
            ("n_classes", n_classes, 2),
            ("batch_size", batch_size, 1),
            ("eval_batch_size", eval_batch_size, 1),
            ("seed", seed, 0),
        ):
            require_int(f"data.{field}", value, low)
        require_number("data.replay_weight", replay_weight, 0)
        # With no new pairs there is nothing to fine-tune on, and without replay every sampling weight is 0.
        require(
            stage != "finetune" or n_new >= 1,
            "data.n_new",
            "an integer >= 1 when data.stage is 'finetune'",
            n_new,
        )
        self.save_hyperparameters()
        self.stage, self.n_pretrain, self.n_new, self.replay_weight = stage, n_pretrain, n_new, replay_weight
        self.dim, self.n_classes, self.batch_size, self.seed = dim, n_classes, batch_size, seed
        old_keys, old_labels = toy_pairs(n_pretrain, dim, n_classes, seed, stream=0)
        new_keys, new_labels = toy_pairs(n_new, dim, n_classes, seed, stream=1)
        self.keys = {"old": torch.from_numpy(old_keys), "new": torch.from_numpy(new_keys)}
        self.labels = {"old": torch.from_numpy(old_labels), "new": torch.from_numpy(new_labels)}

    @property
    def n_individuals(self) -> int:
        """Pairs the training stream draws from (keys play the individuals' role)."""
        return (
            self.n_pretrain
            if self.stage == "pretrain"
            else self.n_new + (self.n_pretrain if self.replay_weight else 0)
        )

    def sampling_probabilities(self) -> np.ndarray:
        """Probability of each pair of ``cat(old, new)`` in one training draw."""
        if self.stage == "pretrain":
            weights = np.concatenate([np.ones(self.n_pretrain), np.zeros(self.n_new)])
        else:
            weights = np.concatenate(
                [np.full(self.n_pretrain, float(self.replay_weight)), np.ones(self.n_new)]
            )
        return weights / weights.sum()

    def train_dataloader(self) -> DataLoader:
        start = self.trainer.global_step if self.trainer is not None else 0
        keys = torch.cat([self.keys["old"], self.keys["new"]])
        labels = torch.cat([self.labels["old"], self.labels["new"]])
        stream = ToyPairStream(keys, labels, self.sampling_probabilities(), self.batch_size, self.seed, start)
        return DataLoader(stream, batch_size=None)

    def eval_batches(self) -> list[dict[str, Any]]:
        size = self.hparams.eval_batch_size
        return [
            {"keys": self.keys[name][i : i + size], "labels": self.labels[name][i : i + size], "split": name}
            for name in TOY_SETS
            for i in range(0, len(self.labels[name]), size)
        ]

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.eval_batches(), batch_size=None)

    def state_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "seed": self.seed}
