"""What callbacks check before a run starts: their ``check_setup`` hooks, and the metrics the run will log.

A callback with ``check_setup(stage, datamodule, pl_module, callbacks)`` raises a
:class:`~factdyn.checks.ConfigError` there when it cannot work with this data, model or these other
callbacks (a partner missing, a split or monitor that names nothing). It calls it from its ``setup``; the
CLI calls every one before it builds the Trainer, so such an error comes before anything is written.

A ``monitor`` is checked against the metrics the run will log. The LightningModule lists its own
(``metric_names(eval_sets)``, e.g. ``FactLearner.metric_names``) for the evaluation sets the DataModule has
(``eval_set_names()``); a callback that logs metrics of its own lists them with ``metric_names(datamodule)``.
Found by those methods, not by type: any module or callback may take part, and with a module or DataModule
that lists nothing the check is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def logged_metrics(datamodule: Any, pl_module: Any, callbacks: Sequence[Any]) -> set[str] | None:
    """Every metric name the run will log, or ``None`` when the module or the data cannot say."""
    names = getattr(pl_module, "metric_names", None)
    eval_sets = getattr(datamodule, "eval_set_names", None)
    if not callable(names) or not callable(eval_sets):
        return None
    found = set(names(eval_sets()))
    for callback in callbacks:
        extra = getattr(callback, "metric_names", None)
        if callable(extra):
            found.update(extra(datamodule))
    return found


def check_callbacks(stage: str, datamodule: Any, pl_module: Any, callbacks: Sequence[Any]) -> None:
    """Every callback's ``check_setup(stage, datamodule, pl_module, callbacks)``: its inputs, partners and
    names, checked before anything trains (the CLI calls it before it builds the Trainer)."""
    for callback in callbacks:
        check = getattr(callback, "check_setup", None)
        if callable(check):
            check(stage, datamodule, pl_module, callbacks)


def check_at_setup(callback: Any, trainer: Any, pl_module: Any, stage: str) -> None:
    """``callback.check_setup`` from its ``setup`` hook, with the trainer's DataModule and callbacks."""
    datamodule = getattr(trainer, "datamodule", None)
    callback.check_setup(stage, datamodule, pl_module, list(getattr(trainer, "callbacks", None) or []))
