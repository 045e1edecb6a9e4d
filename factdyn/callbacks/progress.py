"""Training progress: Lightning's tqdm bar on a terminal, one plain line every N steps anywhere else.

On a terminal the bar redraws itself in place. In a file (a SLURM log, ``nohup``, a CI log) every redraw is
one more carriage-return update, several per step. There, :class:`LineProgress`
prints one line every ``trainer.log_every_n_steps`` steps (the steps on which the loss is logged) and one at
the last step::

    step 40/2000  loss 7.213  val/attr_loss 14.59 (step 40)  phase 1  elapsed 12 s

Both show the training loss, the latest held-out attribute loss with the step it was measured at, and what
other callbacks add through a ``progress() -> dict[str, str]`` method (the phase detector adds ``phase``),
found by that method as ``summary()`` is found by :class:`~factdyn.callbacks.RunSummary`.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar, TQDMProgressBar

LOSS = "train/loss"
HELD_OUT = "val/attr_loss"
"""The held-out attribute loss (training individuals on held-out templates)."""


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, RuntimeError):
        return None
    return number if math.isfinite(number) else None


class _HeldOut:
    """The latest held-out attribute loss and the step it was measured at (a validation sets it)."""

    def __init__(self) -> None:
        self.value: float | None = None
        self.step: int | None = None

    def read(self, trainer: L.Trainer) -> None:
        value = _number(trainer.callback_metrics.get(HELD_OUT))
        if value is not None:
            self.value, self.step = value, trainer.global_step


def progress_fields(trainer: L.Trainer, held_out: _HeldOut) -> dict[str, str]:
    """The loss, the latest held-out attribute loss and every callback's ``progress()`` fields."""
    fields: dict[str, str] = {}
    loss = _number(trainer.callback_metrics.get(LOSS))
    if loss is not None:
        fields["loss"] = f"{loss:.4g}"
    if held_out.value is not None:
        fields[HELD_OUT] = f"{held_out.value:.4g} (step {held_out.step})"
    for callback in trainer.callbacks:
        contribute = getattr(callback, "progress", None)
        if callable(contribute):
            fields.update(contribute())
    return fields


class LineProgress(ProgressBar):
    """One line of progress every ``every_n_steps`` training steps (``None``: the trainer's
    ``log_every_n_steps``) and at the last step, on stdout, from rank zero only.

    The line of a step is printed once that step's validation (if it has one) has run, so it shows the
    held-out loss measured at that step: at the next training batch's start, at a validation's end, or at
    the end of training, whichever comes first.
    """

    def __init__(self, every_n_steps: int | None = None) -> None:
        super().__init__()
        self.every_n_steps = every_n_steps
        self._enabled = True
        self._start = 0.0
        self._held_out = _HeldOut()
        self._due: int | None = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        step = trainer.global_step
        every = self.every_n_steps or trainer.log_every_n_steps or 1
        if self._enabled and (step % every == 0 or step == trainer.max_steps):
            self._due = step

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._held_out.read(trainer)
            self._flush(trainer)

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self._flush(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush(trainer)

    def _flush(self, trainer: L.Trainer) -> None:
        if self._due is not None and self._due == trainer.global_step:
            self.print(self.line(trainer))
        self._due = None

    def line(self, trainer: L.Trainer) -> str:
        """``step <k>/<max>  loss ...  val/attr_loss ... (step j)  phase ...  elapsed <s> s``."""
        total = f"/{trainer.max_steps}" if trainer.max_steps and trainer.max_steps > 0 else ""
        parts = [f"step {trainer.global_step}{total}"]
        parts += [f"{name} {value}" for name, value in progress_fields(trainer, self._held_out).items()]
        parts.append(f"elapsed {time.perf_counter() - self._start:.0f} s")
        return "  ".join(parts)

    def print(self, *args: Any, **kwargs: Any) -> None:
        print(*args, **kwargs, flush=True)


class TerminalProgress(TQDMProgressBar):
    """Lightning's tqdm bar, with the loss, the latest held-out attribute loss and the phase.

    The fields are read again only on the steps the loss is logged (``log_every_n_steps``) and after a
    validation: reading a logged tensor waits for the device, which the bar's redraw at every step should
    not do (the loss does not change in between anyway).
    """

    def __init__(self) -> None:
        super().__init__()
        self._held_out = _HeldOut()
        self._fields: dict[str, str] | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not trainer.sanity_checking:
            self._held_out.read(trainer)
            self._fields = None

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        every = max(1, trainer.log_every_n_steps or 1)
        if self._fields is None or trainer.global_step % every == 0:
            self._fields = progress_fields(trainer, self._held_out)
        return {**super().get_metrics(trainer, pl_module), **self._fields}


def progress_bar(stream: Any = None) -> ProgressBar:
    """The progress display for ``stream`` (stdout): the tqdm bar on a terminal, else lines."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return TerminalProgress() if callable(isatty) and isatty() else LineProgress()


def with_progress_display(trainer_config: dict[str, Any], callbacks: list[Any]) -> list[Any]:
    """``callbacks`` plus :func:`progress_bar`, unless the trainer's ``enable_progress_bar`` is false or a
    progress bar is configured already (``trainer.callbacks`` or ``callbacks``)."""
    configured = trainer_config.get("callbacks") or []
    configured = list(configured) if isinstance(configured, (list, tuple)) else [configured]
    if trainer_config.get("enable_progress_bar") is False:
        return callbacks
    if any(isinstance(c, ProgressBar) for c in [*configured, *callbacks]):
        return callbacks
    return [*callbacks, progress_bar()]
