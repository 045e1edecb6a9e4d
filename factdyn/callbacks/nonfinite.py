"""NonFiniteGuard: a non-finite loss (or gradient) never reaches the weights or a checkpoint."""

from __future__ import annotations

import math
from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_warn

ACTIONS = ("stop", "skip")


class NonFiniteLossError(RuntimeError):
    """Training stopped on a non-finite loss or gradient; the message names the step."""


class NonFiniteGuard(Callback):
    """Checks the training loss (and gradients) after backward and before the optimizer step.

    The check runs in ``on_before_optimizer_step``, i.e. before the weights change and before any
    checkpoint of that step is written (checkpoints are saved at batch end). On ``stop`` it raises
    :class:`NonFiniteLossError` naming the step: the weights stay those of the previous step and the last
    checkpoint written is the last good one. On ``skip`` it drops the gradients (``grad = None``, so AdamW
    leaves every weight and its moments untouched), warns, and training goes on with the next batch; the
    step still counts, so the data stream stays aligned with the step.

    Args:
        action: ``stop`` (default) or ``skip``.
        monitor: the logged training loss to check.
        check_gradients: also treat a non-finite gradient as a fault.
        max_skips: with ``skip``, stop anyway after this many skipped steps (``null``: never).
    """

    def __init__(
        self,
        action: Literal["stop", "skip"] = "stop",
        monitor: str = "train/loss",
        check_gradients: bool = True,
        max_skips: int | None = 100,
    ) -> None:
        if action not in ACTIONS:
            raise ValueError(f"nonfinite.action must be one of {', '.join(ACTIONS)}, got {action!r}")
        if max_skips is not None and (
            isinstance(max_skips, bool) or not isinstance(max_skips, int) or max_skips < 0
        ):
            raise ValueError(f"nonfinite.max_skips must be an integer >= 0 or null, got {max_skips!r}")
        self.action = action
        self.monitor = monitor
        self.check_gradients = check_gradients
        self.max_skips = max_skips
        self.skipped_steps: list[int] = []

    def _fault(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        loss = trainer.callback_metrics.get(self.monitor)
        if loss is not None and not math.isfinite(float(loss)):
            return f"{self.monitor} = {float(loss)}"
        if self.check_gradients:
            grads = [p.grad for p in pl_module.parameters() if p.grad is not None]
            if grads:
                norms = torch._foreach_norm(grads)
                if not torch.isfinite(torch.stack(norms)).all():
                    return "non-finite gradient"
        return None

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        fault = self._fault(trainer, pl_module)
        # All ranks take the same decision (a fault on any rank counts).
        if not trainer.strategy.reduce_boolean_decision(fault is not None, all=False):
            return
        # The optimizer step about to run produces step global_step + 1; name the batch by its index.
        step = trainer.global_step
        reason = fault or "non-finite value on another rank"
        if self.action == "skip" and (self.max_skips is None or len(self.skipped_steps) < self.max_skips):
            optimizer.zero_grad(set_to_none=True)
            self.skipped_steps.append(step)
            rank_zero_warn(f"non-finite training step {step} ({reason}): batch skipped, weights unchanged")
            return
        raise NonFiniteLossError(
            f"non-finite training loss at step {step} ({reason}); stopped before updating the weights, "
            "the last checkpoint written is the last good one (nonfinite.action=skip skips such batches)"
        )

    def summary(self) -> dict[str, Any]:
        return {"nonfinite": {"action": self.action, "skipped_steps": list(self.skipped_steps)}}

    def state_dict(self) -> dict[str, Any]:
        return {"skipped_steps": list(self.skipped_steps)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.skipped_steps = list(state_dict.get("skipped_steps", []))
