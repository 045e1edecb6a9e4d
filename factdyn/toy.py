"""Toy associative memory (Zucchet et al. 2025, App. F.4; spec §7.4): forgetting without attention.

An MLP with one hidden layer of 256 ReLU units maps 64-d Gaussian keys, projected onto the unit sphere, to
one of 30 values (30-way classification). Pre-training stores 8,192 key-value pairs (AdamW, lr 0.03,
cosine, 16k steps, batch 128, weight decay 0.01); fine-tuning then stores ``n_new`` new pairs (constant lr
1e-3, 4,000 steps), optionally replaying the old ones: each old pair is drawn with weight
``replay_weight``, each new pair with weight 1.

    factdyn toy fit --config configs/toy/pretrain.yaml
    factdyn toy fit --config configs/toy/finetune.yaml --data.n_new 128 --data.replay_weight 0.125

Metrics (logged against the optimizer step, with a point at step 0 before any update): ``toy/old_acc``,
``toy/old_loss`` on the pre-training pairs and ``toy/new_acc``, ``toy/new_loss`` on the new ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader, IterableDataset

from factdyn.checks import require_int
from factdyn.training.checkpoint_io import load_verified

TOY_SETS: tuple[str, ...] = ("old", "new")


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
        stage: Literal["pretrain", "finetune"] = "pretrain",
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
        if stage not in ("pretrain", "finetune"):
            raise ValueError(f"data.stage must be one of 'pretrain', 'finetune', got {stage!r}")
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
        if not (math.isfinite(replay_weight) and replay_weight >= 0):
            raise ValueError(f"data.replay_weight must be >= 0, got {replay_weight}")
        if stage == "finetune" and n_new == 0:
            raise ValueError("data.n_new must be >= 1 when data.stage is 'finetune'")
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


class ToyMemory(L.LightningModule):
    """One-hidden-layer ReLU MLP classifying keys into values; pre-training or fine-tuning.

    Args:
        dim, n_classes: input and output sizes (linked from the data by the CLI).
        hidden: hidden units (paper: 256).
        lr: peak learning rate (paper: 0.03 pre-training, 1e-3 fine-tuning).
        weight_decay: AdamW weight decay (paper: 0.01).
        lr_schedule: ``cosine`` (to 0 over ``trainer.max_steps``) or ``constant``.
        init_checkpoint: a ``.ckpt`` of a pre-trained ``ToyMemory`` whose weights start this run
            (fine-tuning); loaded at fit start, with a fresh optimizer.
    """

    def __init__(
        self,
        dim: int = 64,
        n_classes: int = 30,
        hidden: int = 256,
        lr: float = 0.03,
        weight_decay: float = 0.01,
        lr_schedule: Literal["cosine", "constant"] = "cosine",
        init_checkpoint: str | None = None,
    ) -> None:
        super().__init__()
        if not lr > 0:
            raise ValueError(f"model.lr must be > 0, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"model.weight_decay must be >= 0, got {weight_decay}")
        if lr_schedule not in ("cosine", "constant"):
            raise ValueError(f"model.lr_schedule must be one of 'cosine', 'constant', got {lr_schedule!r}")
        if hidden < 1:
            raise ValueError(f"model.hidden must be >= 1, got {hidden}")
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
        self.baseline_attr_loss = math.log(n_classes)  # no-knowledge loss, for RunSummary
        self._sums: dict[str, torch.Tensor] = {}

    def forward(self, keys: torch.Tensor) -> torch.Tensor:
        return self.net(keys)

    def setup(self, stage: str) -> None:
        path = self.hparams.init_checkpoint
        if stage != "fit" or not path:
            return
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"model.init_checkpoint: no such file {path!r} (run the pre-training first)"
            )
        state = load_verified(path)["state_dict"]
        self.load_state_dict(state)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = F.cross_entropy(self(batch["keys"]), batch["labels"])
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def on_validation_epoch_start(self) -> None:
        self._sums = {}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logits = self(batch["keys"])
        loss = F.cross_entropy(logits, batch["labels"], reduction="sum")
        correct = (logits.argmax(-1) == batch["labels"]).sum()
        total = torch.stack(
            [loss, correct.float(), torch.tensor(float(len(batch["labels"])), device=self.device)]
        )
        name = batch["split"]
        self._sums[name] = self._sums.get(name, torch.zeros(3, device=self.device)) + total

    def eval_metrics(self) -> dict[str, torch.Tensor]:
        out = {}
        for name, (loss, correct, n) in self._sums.items():
            if n > 0:
                out[f"toy/{name}_loss"], out[f"toy/{name}_acc"] = loss / n, correct / n
        return out

    def on_validation_epoch_end(self) -> None:
        metrics = self.eval_metrics()
        metrics["step"] = torch.tensor(float(self.global_step), device=self.device)
        self.log_dict(metrics, sync_dist=True)

    @torch.no_grad()
    def on_train_start(self) -> None:
        # The curves need the starting point (step 0), which Lightning's validation schedule skips.
        if self.global_step != 0 or self.trainer.datamodule is None or self.logger is None:
            return
        self.on_validation_epoch_start()
        for batch in self.trainer.datamodule.eval_batches():
            self.validation_step(
                {**batch, "keys": batch["keys"].to(self.device), "labels": batch["labels"].to(self.device)}, 0
            )
        metrics = {k: float(v) for k, v in self.eval_metrics().items()}
        if self.trainer.global_rank == 0:
            for logger in self.loggers:
                logger.log_metrics(metrics, step=0)

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        optimizer = torch.optim.AdamW(self.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        total = max(1, self.trainer.max_steps)

        def multiplier(step: int) -> float:
            if hp.lr_schedule == "constant":
                return 1.0
            return 0.5 * (1 + math.cos(math.pi * min(1.0, step / total)))

        scheduler = LambdaLR(optimizer, multiplier)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
