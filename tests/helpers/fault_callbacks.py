"""Test-only callbacks that inject faults or pace a run, named by dotted path on the command line."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from factdyn.model.hooks import HookPoint, hooks, pattern_hook_names


class SlowDown(Callback):
    """Sleeps after every training batch, so that a test can kill the run at a step of its choosing."""

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        time.sleep(self.seconds)


class SwitchSamplerAt(Callback):
    """Calls ``datamodule.sampler.switch(step)`` once, at the end of training step ``step``."""

    switches_sampler = True  # ends an AdaptiveWarmUp's warm-up, as AdaptiveWarmUpSwitch does

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if trainer.global_step == self.step:
            trainer.datamodule.sampler.switch(self.step)


class PoisonLossAt(Callback):
    """Makes the forward of the batches at the given global steps produce NaN (through a hook point)."""

    def __init__(self, steps: list[int]) -> None:
        self.steps = set(steps)
        self._active: Any = None

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if trainer.global_step in self.steps:
            name = pattern_hook_names(pl_module.model)[0]

            def poison(pattern: torch.Tensor, hook: HookPoint) -> torch.Tensor:
                return pattern * float("nan")

            self._active = hooks(pl_module.model, {name: poison})
            self._active.__enter__()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self._release()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._release()

    def _release(self) -> None:
        if self._active is not None:
            self._active.__exit__(None, None, None)
            self._active = None


class CrashAt(Callback):
    """Raises at the start of training step ``step``, after every checkpoint of the step before: an
    in-process stand-in for a run killed there (it leaves no ``summary.json``)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if trainer.global_step == self.step:
            raise RuntimeError(f"CrashAt: crashed at step {self.step}")


class FailOnLoad(Callback):
    """Raises while a checkpoint is being restored: a resume that fails after its checks passed."""

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        raise RuntimeError("FailOnLoad: the checkpoint cannot be restored")


class SigtermAt(Callback):
    """Sends this process SIGTERM once, at global step ``step``: in the middle of that step's validation
    (after its first evaluation batch) with ``during="validation"``, else at the end of the training batch
    (before the factdyn callbacks see it)."""

    def __init__(self, step: int, during: str = "training") -> None:
        self.step = step
        self.during = during
        self.sent = False

    def _send(self, trainer: L.Trainer) -> None:
        if not self.sent and trainer.global_step == self.step:
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if self.during == "training":
            self._send(trainer)

    def on_validation_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if self.during == "validation" and not trainer.sanity_checking:
            self._send(trainer)
