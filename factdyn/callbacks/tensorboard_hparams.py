"""TensorBoardHparams: a run's settings and final metrics in TensorBoard's HPARAMS tab, and the sampler and
``max_steps`` in ``hparams.yaml``, so that the runs of a sweep can be compared side by side.

Written with the hparams plugin's own records (experiment, session start, session end), not with
``TensorBoardLogger.log_hyperparams(params, metrics)``: that also logs each metric's placeholder value as a
scalar point (Lightning issue #4030), which would put a false first point on ``val/attr_loss``. The metric
columns need no values here: TensorBoard shows the last point of each named scalar tag, which the run
logs anyway. ``default_hp_metric`` should stay off (factdyn's default): with it, Lightning logs a constant
``hp_metric = -1`` and writes hparams records of its own after this callback's (TensorBoard reads the first
of a run's, this callback's, with either of its loaders: checked by hand on TensorBoard 2.21).
"""

from __future__ import annotations

import time
import typing
from collections.abc import Collection, Mapping
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_warn
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.plugins.hparams import summary_v2 as hp

from factdyn.callbacks.phase_detector import BOUNDARY_TAGS, PhaseDetector
from factdyn.callbacks.quiet import quiet
from factdyn.callbacks.tensorboard_run import run_tags, split_prefixes, tensorboard_loggers
from factdyn.data.samplers import SAMPLERS

Value = bool | int | float | str

DATA_FIELDS = ("n_individuals", "batch_size", "n_templates_train", "shuffle_sentences", "n_new")
MODEL_FIELDS = ("lr", "min_lr", "lr_schedule", "warmup_steps", "weight_decay")
SHAPE_FIELDS = ("n_layer", "n_head", "d_model", "d_mlp", "sequence_mixer")
"""The run's settings shown as HPARAMS columns, as ``data.<field>``, ``model.<field>`` and
``model.config.<field>`` (the config keys); besides these: ``seed_everything``, ``trainer.max_steps``,
``data.sampler`` (the class name) and ``data.sampler.<argument>``."""

FINAL_METRICS = {
    ("val", "attr_loss"): "held-out attribute loss",
    ("val", "attr_acc"): "held-out attribute accuracy",
    ("unseen", "attr_loss"): "unseen attribute loss",
    ("new", "attr_loss"): "new individuals' attribute loss",
    ("new", "attr_acc"): "new individuals' attribute accuracy",
}
"""(evaluation set, metric) -> column title: the metric columns, each the last value of its tag."""


def run_hparams(trainer: L.Trainer, pl_module: Any) -> dict[str, Value]:
    """The run's settings as flat ``config key -> value`` (fields that are unset, ``None``, are left out)."""
    data = dict(getattr(trainer.datamodule, "hparams", None) or {})
    model = dict(getattr(pl_module, "hparams", None) or {})
    shape = dict(model.get("config") or {})
    values: dict[str, Any] = {"seed_everything": data.get("seed"), "trainer.max_steps": trainer.max_steps}
    values.update({f"data.{k}": data.get(k) for k in DATA_FIELDS})
    sampler = getattr(trainer.datamodule, "sampler", None)
    if sampler is not None:
        values["data.sampler"] = type(sampler).__name__
        values.update({f"data.sampler.{k}": v for k, v in sampler.arguments().items()})
    values.update({f"model.{k}": model.get(k) for k in MODEL_FIELDS})
    values.update({f"model.config.{k}": shape.get(k) for k in SHAPE_FIELDS})
    return {k: v for k, v in values.items() if isinstance(v, (bool, int, float, str))}


def sampler_record(sampler: Any) -> dict[str, Any]:
    """The sampler as ``hparams.yaml`` records it: the ``class_path`` and ``init_args`` that rebuild it."""
    cls = type(sampler)
    return {"class_path": f"{cls.__module__}.{cls.__qualname__}", "init_args": sampler.arguments()}


def final_metrics(tags: Collection[str], prefixes: Mapping[str, str], phases: bool) -> dict[str, str]:
    """Metric tag -> column title, for the tags the run logs, and the plateau end when ``phases``."""
    metrics = {"train/loss": "final training loss"} if "train/loss" in tags else {}
    for (split, name), title in FINAL_METRICS.items():
        tag = f"{prefixes[split]}/{name}" if split in prefixes else None
        if tag in tags:
            metrics[tag] = f"{title} ({tag})"
    if phases:
        metrics[BOUNDARY_TAGS["plateau_end"]] = "plateau end (step)"
    return metrics


def experiment_summary(values: Mapping[str, Value], metrics: Mapping[str, str]) -> Summary:
    """The experiment record: a column for each of ``values`` and for every argument of every shipped
    sampler, and the ``metrics``. TensorBoard takes the columns from one run of its log directory, so each
    run lists every sampler's arguments: a sweep over samplers shows them all, whichever run it reads."""
    kinds = {name: _kind(type(value)) for name, value in values.items()}
    for cls in SAMPLERS:
        hints = typing.get_type_hints(cls.__init__)
        for name in cls.argument_names():
            kinds.setdefault(f"data.sampler.{name}", _kind(hints.get(name, str)))
    experiment = api_pb2.Experiment(
        time_created_secs=time.time(),
        hparam_infos=[api_pb2.HParamInfo(name=name, type=kinds[name]) for name in sorted(kinds)],
        metric_infos=[
            api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag), display_name=title)
            for tag, title in metrics.items()
        ],
    )
    return _record(metadata.EXPERIMENT_TAG, plugin_data_pb2.HParamsPluginData(experiment=experiment))


def session_end_summary(status: int) -> Summary:
    """The session end record: ``status`` (``api_pb2.STATUS_SUCCESS``, ...) and the time."""
    end = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=time.time())
    return _record(metadata.SESSION_END_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=end))


def _record(tag: str, data: plugin_data_pb2.HParamsPluginData) -> Summary:
    summary = Summary()
    summary.value.add(tag=tag, metadata=metadata.create_summary_metadata(data), tensor=metadata.NULL_TENSOR)
    return summary


def _kind(hint: Any) -> int:
    """The hparams plugin's data type of a Python type (or an optional one, ``int | None``)."""
    options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    if options[0] is bool:
        return api_pb2.DATA_TYPE_BOOL
    if options[0] in (int, float):
        return api_pb2.DATA_TYPE_FLOAT64
    return api_pb2.DATA_TYPE_STRING


class TensorBoardHparams(Callback):
    """Fills TensorBoard's HPARAMS tab for every ``fit`` and adds the sampler and ``max_steps`` to
    ``hparams.yaml``.

    The columns are the run's settings (:func:`run_hparams`: seed, N, batch size, schedule, learning rate,
    model shape, the sampler's class and arguments), and its final metrics (:func:`final_metrics`:
    ``val/attr_loss``, ``val/attr_acc``, ``unseen/attr_loss``, the training loss and, once the
    ``PhaseDetector`` has found it, the plateau end). Written at the start of ``fit`` (so a sweep's
    unfinished runs show too) from rank zero; the session's end (success, failure or abort) is written when
    training ends.
    """

    def __init__(self) -> None:
        self._open = False

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if quiet(trainer, fitting_only=True):
            return
        sampler = getattr(trainer.datamodule, "sampler", None)
        extra = {"max_steps": trainer.max_steps}
        if sampler is not None:
            extra["sampler"] = sampler_record(sampler)
        loggers = tensorboard_loggers(trainer)
        for logger in trainer.loggers:
            # Before Lightning's own log_hyperparams (after on_fit_start), which writes hparams.yaml. Not
            # through log_hyperparams for TensorBoard: with default_hp_metric on, that would write one more
            # hparams record, ahead of this callback's.
            if logger in loggers:
                logger.hparams.update(extra)
            else:
                logger.log_hyperparams(extra)
        if not loggers or not trainer.is_global_zero:
            return
        values = run_hparams(trainer, pl_module)
        phases = any(isinstance(c, PhaseDetector) for c in trainer.callbacks)
        metrics = final_metrics(run_tags(trainer, pl_module), split_prefixes(trainer, pl_module), phases)
        records = [experiment_summary(values, metrics), hp.hparams_pb(values, start_time_secs=time.time())]
        for logger in loggers:
            # Lightning keeps the setting private; the message names its config key.
            if getattr(logger, "_default_hp_metric", False):
                rank_zero_warn(
                    "trainer.logger.init_args.default_hp_metric: false for factdyn's HPARAMS columns "
                    "(true adds Lightning's placeholder: a constant hp_metric = -1 chart, and a second "
                    "hparams record, which TensorBoard ignores as long as factdyn's comes first)"
                )
            _write(logger, records, trainer.global_step)
        self._open = True

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # The end of training, well before Lightning finalizes the logger (a write after that would open a
        # second event file).
        self._end(trainer, api_pb2.STATUS_SUCCESS)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        failed = not isinstance(exception, KeyboardInterrupt)
        self._end(trainer, api_pb2.STATUS_FAILURE if failed else api_pb2.STATUS_ABORTED)

    def _end(self, trainer: L.Trainer, status: int) -> None:
        if not self._open:
            return
        self._open = False
        record = session_end_summary(status)
        for logger in tensorboard_loggers(trainer):
            _write(logger, [record], trainer.global_step)
            logger.experiment.flush()


def _write(logger: Any, records: list[Summary], step: int) -> None:
    # SummaryWriter has no public call for a raw summary; Lightning's log_hyperparams uses this one too.
    writer = logger.experiment._get_file_writer()
    for record in records:
        writer.add_summary(record, step)
