"""NonFiniteGuard: a non-finite loss (or gradient) never reaches the weights or a checkpoint."""

from __future__ import annotations

import math
from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_warn

from factdyn.callbacks.setup_checks import check_at_setup, logged_metrics
from factdyn.checks import require_choice, require_int, require_metric

ACTIONS = ("stop", "skip")


class NonFiniteLossError(RuntimeError):
    """Training stopped on a non-finite loss or gradient; the message names the step."""


class NonFiniteGuard(Callback):
    """Checks the training loss (and gradients) after backward and before the optimizer step.

    The loss checked is the one passed to backward (seen in ``on_before_backward``), every step, whether or
    not it is logged that step.

    The check runs in ``on_before_optimizer_step``, i.e. before the weights change and before any
    checkpoint of that step is written (checkpoints are saved at batch end). On ``stop`` it raises
    :class:`NonFiniteLossError` naming the step: the weights stay those of the previous step and the last
    checkpoint written is the last good one. On ``skip`` it drops the gradients (``grad = None``, so AdamW
    leaves every weight and its moments untouched), warns, and training goes on with the next batch; the
    step still counts, so the data stream stays aligned with the step.

    Args:
        action: ``stop`` (default) or ``skip``.
        monitor: name of the training loss in messages; its logged value is checked only when no loss
            reached backward (manual optimization).
        check_gradients: also treat a non-finite gradient as a fault.
        max_skips: with ``skip``, stop anyway after this many skipped steps (``null``: never).
        check_every_n_steps: read the verdict on the host every n steps (default 1: every step). Reading it
            is a host-device sync; on a GPU set it to ``trainer.log_every_n_steps`` (the paper config does)
            so the training step stays sync-free. Between reads, the check still runs on the device and a
            faulty step changes nothing: a fused optimizer (FactLearner's AdamW) gets the verdict as its
            ``found_inf`` flag and skips the step inside its kernel (weights, moments and step count stay);
            any other optimizer gets zeros for gradients (its decay and momentum still move the weights,
            which stay finite). The first faulty step is remembered, so the next read stops or reports it.
    """

    def __init__(
        self,
        action: Literal["stop", "skip"] = "stop",
        monitor: str = "train/loss",
        check_gradients: bool = True,
        max_skips: int | None = 100,
        check_every_n_steps: int = 1,
    ) -> None:
        require_choice("nonfinite.action", action, ACTIONS)
        require_int("nonfinite.max_skips", max_skips, 0, allow_none=True)
        require_int("nonfinite.check_every_n_steps", check_every_n_steps, 1)
        self.check_every_n_steps = check_every_n_steps
        self._flags: list[tuple[int, torch.Tensor]] = []  # (step, 1.0 if faulty) since the last read
        self._one: torch.Tensor | None = None
        self.action = action
        self.monitor = monitor
        self.check_gradients = check_gradients
        self.max_skips = max_skips
        self.skipped_steps: list[int] = []
        self._loss: torch.Tensor | None = None

    def check_setup(self, stage: str, datamodule: Any, pl_module: Any, callbacks: Any) -> None:
        """``monitor`` names a metric the run logs."""
        logged = logged_metrics(datamodule, pl_module, callbacks) if stage == "fit" else None
        if logged is not None:
            require_metric("nonfinite.monitor", self.monitor, {m for m in logged if m.startswith("train/")})

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        check_at_setup(self, trainer, pl_module, stage)

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor
    ) -> None:
        self._loss = loss.detach()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self._loss = None

    def _step_loss(self, trainer: L.Trainer) -> torch.Tensor | None:
        return self._loss if self._loss is not None else trainer.callback_metrics.get(self.monitor)

    def _fault(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str | None:
        loss = self._step_loss(trainer)
        if loss is not None and not math.isfinite(float(loss)):
            return f"{self.monitor} = {float(loss)}"
        grads = _gradients(pl_module)
        if self.check_gradients and grads:
            flag = torch.zeros((), dtype=torch.float32, device=grads[0].device)
            self._flag_nonfinite(grads, flag)
            if flag.item():
                return "non-finite gradient"
        return None

    def _flag_nonfinite(self, grads: list[torch.Tensor], flag: torch.Tensor) -> None:
        """Set ``flag`` (float32, 0-dim) to 1 if any gradient is not finite.

        GradScaler's fused check: one launch per gradient dtype (it also multiplies the gradients by 1).
        """
        if self._one is None or self._one.device != flag.device:
            self._one = torch.ones((), dtype=torch.float32, device=flag.device)
        by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
        for g in grads:
            by_dtype.setdefault(g.dtype, []).append(g)
        for group in by_dtype.values():
            torch._amp_foreach_non_finite_check_and_unscale_(group, flag, self._one)

    def _latch_on_device(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        """Sync-free check (about three kernel launches): neutralise a faulty step, keep its flag."""
        device = pl_module.device
        loss = self._step_loss(trainer)
        if loss is None:
            bad = torch.zeros((), dtype=torch.float32, device=device)
        else:
            bad = torch.where(torch.isfinite(loss.detach().to(device)).all(), 0.0, 1.0)
        grads = _gradients(pl_module)
        if self.check_gradients and grads:
            self._flag_nonfinite(grads, bad)
        if optimizer.defaults.get("fused"):
            # The fused step skips itself when ``found_inf`` is 1: no masking kernel per parameter.
            optimizer.found_inf = bad
        else:
            for g in grads:
                g.copy_(torch.where(bad > 0, torch.zeros_like(g), g))
        self._flags.append((trainer.global_step, bad))

    def _read_latched(self, trainer: L.Trainer) -> None:
        """Stop on (or, with ``skip``, report) the first step flagged since the last read."""
        first_bad = self._first_flagged()
        if not trainer.strategy.reduce_boolean_decision(first_bad is not None, all=False):
            return
        step = first_bad if first_bad is not None else trainer.global_step
        if self._may_skip():
            self.skipped_steps.append(step)
            rank_zero_warn(f"non-finite training step {step}: its update was skipped on the device")
            return
        raise NonFiniteLossError(
            f"non-finite training loss or gradient at step {step}; its update was skipped on the device and "
            f"training stopped at step {trainer.global_step} (nonfinite.check_every_n_steps > 1)"
        )

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flags = []

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Steps after the last read: a run whose length is not a multiple of check_every_n_steps.
        if self._flags:
            self._read_latched(trainer)

    def _first_flagged(self) -> int | None:
        """The first step flagged since the last read (one host-device sync), or ``None``."""
        steps, flags = zip(*self._flags, strict=True) if self._flags else ((), ())
        self._flags = []
        values = torch.stack(list(flags)).tolist() if flags else []
        return next((step for step, value in zip(steps, values, strict=True) if value > 0), None)

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        if self.check_every_n_steps > 1:
            self._latch_on_device(trainer, pl_module, optimizer)
            if (trainer.global_step + 1) % self.check_every_n_steps == 0:
                self._read_latched(trainer)
            return
        fault = self._fault(trainer, pl_module)
        # All ranks take the same decision (a fault on any rank counts).
        if not trainer.strategy.reduce_boolean_decision(fault is not None, all=False):
            return
        # The optimizer step about to run produces step global_step + 1; name the batch by its index.
        self._handle(trainer, optimizer, trainer.global_step, fault or "non-finite value on another rank")

    def _may_skip(self) -> bool:
        """Whether a faulty step is skipped (``skip``, under ``max_skips``) rather than stopping the run."""
        return self.action == "skip" and (self.max_skips is None or len(self.skipped_steps) < self.max_skips)

    def _handle(self, trainer: L.Trainer, optimizer: torch.optim.Optimizer, step: int, reason: str) -> None:
        if self._may_skip():
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


def _gradients(pl_module: L.LightningModule) -> list[torch.Tensor]:
    return [p.grad for p in pl_module.parameters() if p.grad is not None]
