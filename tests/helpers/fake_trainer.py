"""A minimal stand-in for ``lightning.Trainer`` to drive callbacks hook by hook in unit tests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch
from lightning.pytorch.trainer.states import TrainerFn


class FakeStrategy:
    def broadcast(self, obj: Any, src: int = 0) -> Any:
        return obj

    def reduce(self, tensor: torch.Tensor, reduce_op: str = "mean") -> torch.Tensor:
        return tensor

    def reduce_boolean_decision(self, decision: bool, all: bool = True) -> bool:
        return decision


class FakeTrainer:
    """Just the attributes factdyn's callbacks read."""

    def __init__(self, datamodule: Any = None, fast_dev_run: int | bool = False) -> None:
        self.sanity_checking = False
        self.fast_dev_run = fast_dev_run
        self.state = SimpleNamespace(fn=TrainerFn.FITTING)
        self.callback_metrics: dict[str, torch.Tensor] = {}
        self.global_step = 0
        self.global_rank = 0
        self.loggers: list[Any] = []
        self.strategy = FakeStrategy()
        self.should_stop = False
        self.datamodule = datamodule
        self.is_global_zero = True
        self.default_root_dir: str | None = None  # no run directory: callbacks write no files

    def set_metrics(self, metrics: dict[str, float]) -> None:
        self.callback_metrics = {k: torch.tensor(v) for k, v in metrics.items()}
