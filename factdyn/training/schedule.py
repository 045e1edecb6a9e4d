"""The learning-rate schedule: linear warm-up, then a cosine to ``min_lr`` (or a constant rate)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, get_args

from factdyn.checks import require, require_choice, require_int, require_number

LrSchedule = Literal["cosine", "constant"]


def check_schedule(
    lr: float,
    min_lr: float,
    lr_schedule: str,
    weight_decay: float,
    betas: tuple[float, float] | list[float],
    warmup_steps: int,
    decay_steps: int | None,
) -> None:
    """Check the optimizer and schedule fields of ``model`` (one-line ConfigError naming the field)."""
    require_number("model.lr", lr, 0, low_open=True)
    require(
        isinstance(min_lr, (int, float)) and 0 <= min_lr <= lr,
        "model.min_lr",
        f"a number in [0, model.lr = {lr:g}]",
        min_lr,
    )
    require_choice("model.lr_schedule", lr_schedule, get_args(LrSchedule))
    require_number("model.weight_decay", weight_decay, 0)
    require(
        len(betas) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas),
        "model.betas",
        "two numbers in [0, 1)",
        list(betas),
    )
    require_int("model.warmup_steps", warmup_steps, 0)
    require_int("model.decay_steps", decay_steps, 1, allow_none=True)


def lr_multiplier(
    schedule: str, lr: float, min_lr: float, warmup_steps: int, total: int
) -> Callable[[int], float]:
    """The factor on the peak learning rate at each optimizer step, for ``LambdaLR``.

    Warm-up: ``(step + 1) / warmup_steps`` for the first ``warmup_steps`` steps. Then ``constant`` stays at
    1; ``cosine`` decays from 1 to ``min_lr / lr`` over the remaining ``total - warmup_steps`` steps and
    stays there. A plain function, not a callable object: ``LambdaLR`` would store an object's attributes
    in checkpoints and restore them on resume, overriding a resumed run's own schedule.
    """
    floor = min_lr / lr

    def multiplier(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warmup_steps) / max(1, total - warmup_steps))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return multiplier
