"""What ``factdyn`` checks once data, model and callbacks are built and before the Trainer exists.

Every check here fails with a one-line :class:`~factdyn.checks.ConfigError` before anything trains or is
written (no run directory, no event file, no checkpoint):

- the trainer fields a factdyn run relies on: the training stream is endless, so ``fit`` needs a step count
  (``trainer.max_steps >= 1``; ``-1`` would run forever) and an integer validation period
  (``trainer.val_check_interval >= 1``, or a duration) instead of a fraction of an epoch that never ends;
  ``accumulate_grad_batches`` and ``log_every_n_steps`` >= 1 and ``max_time`` a duration (Lightning would
  fail on them only once training runs);
- ``validate`` / ``test``: a ``ckpt_path`` file that exists;
- the logger's ``name``, ``version`` and ``sub_dir``, which are joined below its ``save_dir``: relative
  paths without ``..``, so the run directory stays inside ``save_dir``;
- partners: an ``AdaptiveWarmUp`` sampler needs a callback that ends its warm-up (or ``max_warmup_steps``);
- the LightningModule's and every callback's own ``check_setup`` (:mod:`factdyn.callbacks.setup_checks`):
  files it will read, splits, monitors, partners.

It also names a failing always-on callback's field as the user set it (``hallucination_examples.split``, not
the class's ``HallucinationExamples.split``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from factdyn.callbacks.adaptive_warmup_switch import require_warmup_switch
from factdyn.callbacks.setup_checks import check_callbacks
from factdyn.checks import ConfigError, require, require_int, require_relative_path

CHECKPOINT_NAMES = ("best", "last", "hpc", "registry")
"""``ckpt_path`` values Lightning resolves itself (not file names)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_trainer(stage: str, trainer: Mapping[str, Any]) -> None:
    """A step-based run: ``max_steps >= 1`` and an integer (or time-based) ``val_check_interval``."""
    if stage != "fit":
        return
    max_steps = trainer.get("max_steps")
    require(
        _is_int(max_steps) and max_steps >= 1,
        "trainer.max_steps",
        "an integer >= 1 (the training stream is endless: a run lasts max_steps steps, max_time may end it "
        "sooner)",
        max_steps,
    )
    interval = trainer.get("val_check_interval")
    require(
        isinstance(interval, (str, timedelta, dict)) or (_is_int(interval) and interval >= 1),
        "trainer.val_check_interval",
        "an integer >= 1 (validate every n training steps) or a duration 'DD:HH:MM:SS' (the stream has no "
        "epochs to take a fraction of)",
        interval,
    )
    require_int("trainer.accumulate_grad_batches", trainer.get("accumulate_grad_batches", 1), 1)
    require_int("trainer.log_every_n_steps", trainer.get("log_every_n_steps"), 1, allow_none=True)
    max_time = trainer.get("max_time")
    require(
        max_time is None
        or isinstance(max_time, (timedelta, dict))
        or (isinstance(max_time, str) and re.fullmatch(r"\s*\d+:\d+:\d+:\d+\s*", max_time) is not None),
        "trainer.max_time",
        "a duration 'DD:HH:MM:SS' (or a mapping such as {hours: 2}) or null",
        max_time,
    )


def check_checkpoint_path(stage: str, ckpt_path: Any) -> None:
    """``validate`` / ``test`` from a checkpoint file that exists (``fit`` resolves its own, see
    :mod:`factdyn.training.run_directory`)."""
    if stage in ("validate", "test") and ckpt_path is not None and ckpt_path not in CHECKPOINT_NAMES:
        require(
            Path(str(ckpt_path)).is_file(),
            "ckpt_path",
            f"a checkpoint file that exists, or one of {', '.join(CHECKPOINT_NAMES)}",
            ckpt_path,
        )


def check_logger_paths(logger: Any) -> None:
    """Each logger's ``name``, ``version`` (a string one) and ``sub_dir`` stay inside its ``save_dir``."""
    entries = list(logger) if isinstance(logger, (list, tuple)) else [logger]
    for i, entry in enumerate(entries):
        init = entry.get("init_args") if hasattr(entry, "get") else None
        if not hasattr(init, "get"):
            continue
        where = f"trainer.logger{f'[{i}]' if isinstance(logger, (list, tuple)) else ''}.init_args"
        for key in ("name", "version", "sub_dir"):
            value = init.get(key)
            if not _is_int(value):
                require_relative_path(f"{where}.{key}", value, f"{where}.save_dir", allow_empty=True)


def preflight(
    stage: str, config: Mapping[str, Any], datamodule: Any, model: Any, callbacks: Sequence[Any]
) -> None:
    """All checks above, for ``stage`` (``fit``, ``validate``, ``test``) and the subcommand's parsed
    ``config``, with every callback the Trainer will get."""
    trainer = config.get("trainer") or {}
    check_trainer(stage, trainer)
    check_logger_paths(trainer.get("logger"))
    check_checkpoint_path(stage, config.get("ckpt_path"))
    if stage == "fit":
        require_warmup_switch(getattr(datamodule, "sampler", None), callbacks)
    check_model = getattr(model, "check_setup", None)
    if callable(check_model):
        check_model(stage, datamodule)
    check_callbacks(stage, datamodule, model, callbacks)


def as_configured(
    error: ConfigError, config: Mapping[str, Any], always_on: Mapping[str, type]
) -> ConfigError:
    """``error`` with its field named by the always-on config key (``hallucination_examples.split``) when
    it comes from an always-on callback's class (``HallucinationExamples.split``) that
    ``trainer.callbacks`` does not add a second time; else ``error`` itself."""
    extra = (config.get("trainer") or {}).get("callbacks") or []
    extra_names = {str(c.get("class_path", "")).rpartition(".")[2] for c in extra if hasattr(c, "get")}
    for key, cls in always_on.items():
        prefix = f"{cls.__name__}."
        if error.field.startswith(prefix) and cls.__name__ not in extra_names:
            return ConfigError(f"{key}.{error.field[len(prefix) :]}", error.allowed, error.value)
    return error
