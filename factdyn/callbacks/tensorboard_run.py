"""What the TensorBoard callbacks ask of a run: its TensorBoard loggers, the tags it logs and the prefix
of each evaluation set's tags.

The tags are known before the first step: the module and the callbacks list what they log (the
``metric_names`` protocol of :mod:`factdyn.callbacks.setup_checks`), and the attention statistics add one
tag per statistic and layer of the model.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger

from factdyn.callbacks.attention_statistics import AttentionStatistics
from factdyn.callbacks.setup_checks import logged_metrics
from factdyn.interp.attention_statistics import METRICS, layer_tag


def tensorboard_loggers(trainer: L.Trainer) -> list[TensorBoardLogger]:
    """The trainer's TensorBoard loggers (other loggers have no TensorBoard plugins to fill)."""
    return [logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]


def run_tags(trainer: L.Trainer, pl_module: L.LightningModule) -> set[str]:
    """Every scalar tag this run will log (empty when the module or the data cannot say)."""
    callbacks = list(trainer.callbacks)
    tags = logged_metrics(trainer.datamodule, pl_module, callbacks) or set()
    n_layer = getattr(getattr(pl_module, "config", None), "n_layer", 0)
    if any(isinstance(c, AttentionStatistics) for c in callbacks):
        tags |= {layer_tag(metric, layer) for metric in METRICS for layer in range(n_layer)}
    return tags


def split_prefixes(trainer: L.Trainer, pl_module: Any) -> dict[str, str]:
    """Evaluation set -> the prefix of its tags (``{"val": "ft_old", ...}`` when fine-tuning), for the
    sets the data evaluates."""
    eval_sets = getattr(trainer.datamodule, "eval_set_names", None)
    prefix = getattr(pl_module, "eval_prefix", None)
    if not callable(eval_sets):
        return {}
    return {split: prefix(split) if callable(prefix) else split for split in eval_sets()}
