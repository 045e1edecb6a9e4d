"""``factdyn validate`` / ``test`` from a checkpoint: evaluation on the population it was trained on.

LightningCLI takes the model's hyperparameters from ``--ckpt_path`` but not the DataModule's, so without
``--config`` an evaluation used the default population (N = 64,000, another seed's individuals) and
reported a near-zero accuracy with exit status 0. Here the checkpoint's ``datamodule_hyper_parameters``
(and its data seed, as ``seed_everything``) become the parser's defaults, the command line is parsed again
over them, and a config file or flag that still contradicts the checkpoint's population is refused with
one line by :func:`~factdyn.training.run_directory.refuse_contradicting_flags` (the comparison a resume uses).

The checkpoint is read with ``weights_only=True``
(:func:`~factdyn.training.checkpoint_io.load_lightning_checkpoint`); nothing is unpickled.

Outside the CLI, :func:`checkpoint_datamodule` builds the DataModule of those same settings (``factdyn
predict`` / ``ask`` and :func:`factdyn.inspection.load_run`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonargparse import Namespace

from factdyn.checks import require
from factdyn.data import BiographyDataModule
from factdyn.run_layout import EVALUATING_SUBCOMMANDS
from factdyn.training.checkpoint_files import CheckpointError
from factdyn.training.run_directory import EXECUTION_ONLY, checkpoint_point, refuse_contradicting_flags

EVALUATING = EVALUATING_SUBCOMMANDS
"""The subcommands that evaluate a checkpoint on its own population."""

NAMED_SETTINGS: dict[str, tuple[str, ...]] = {
    # What is measured: a sentence order other than training's (a fixed-order run on shuffled biographies),
    # and, for validate's sample, how many sequences measure the population (not which population).
    "validate": ("shuffle_sentences", "n_val_sequences", "n_unseen_sequences", "n_new_sequences"),
    "test": ("shuffle_sentences",),  # the exhaustive sets have no size to choose
}
"""The ``data.*`` settings that, set apart from the checkpoint's, name an evaluation of their own
(:func:`~factdyn.run_layout.evaluation_name`): its results are another curve, not a replacement."""

EVALUATION_ONLY: dict[str, tuple[str, ...]] = {
    "model": EXECUTION_ONLY["model"],
    "data": (
        *EXECUTION_ONLY["data"],
        "batch_size",  # the training batch: an evaluation draws none
        "pad_to_multiple",  # padding is masked: the same numbers, other shapes
        *NAMED_SETTINGS["validate"],
    ),
}
"""Fields an evaluation may set apart from its checkpoint: how it runs, how large its evaluation sets are
and whether their sentences are shuffled. Every other recorded ``data.*`` field (N, ``n_unseen``, ``n_new``,
the template split, ``train_roles``, the seed) defines the population and must match the checkpoint's."""

EVALUATED = (
    "as in the checkpoint being evaluated ({path}; it is evaluated on the population it was trained on: "
    "omit the setting; batch sizes, workers and evaluation set sizes may differ)"
)
"""What a refused evaluation setting should be, and why (``{path}``: the checkpoint)."""

SEED_SOURCE = "seed_everything"
"""The option ``data.seed`` is linked from (``factdyn``'s parser), which takes the checkpoint's seed."""


def data_defaults(checkpoint: Mapping[str, Any], data_keys: set[str]) -> dict[str, Any]:
    """The parser defaults that make a run's data the checkpoint's: ``data.<key>`` for each recorded
    hyperparameter the parser knows (``data_keys``) except the linked seed, which ``seed_everything``
    sets. Empty for a checkpoint without DataModule hyperparameters (one not written by a DataModule)."""
    saved = dict(checkpoint.get("datamodule_hyper_parameters") or {})
    defaults = {f"data.{k}": v for k, v in saved.items() if k in data_keys and k != "seed"}
    if defaults and "seed" in saved:
        defaults[SEED_SOURCE] = saved["seed"]
    return defaults


def evaluation_settings(
    subcommand: str, checkpoint: Mapping[str, Any], data: Namespace | Mapping[str, Any]
) -> dict[str, Any]:
    """The :data:`NAMED_SETTINGS` of ``subcommand`` whose parsed value differs from the checkpoint's
    recorded one (empty for an evaluation as the run itself evaluates)."""
    given = data.as_dict() if isinstance(data, Namespace) else dict(data)
    saved = checkpoint.get("datamodule_hyper_parameters") or {}
    return {
        key: given[key]
        for key in NAMED_SETTINGS[subcommand]
        if key in saved and key in given and given[key] != saved[key]
    }


def refuse_other_population(
    path: str | Path,
    checkpoint: dict[str, Any],
    data: Namespace | Mapping[str, Any],
    linked: Mapping[str, str],
) -> None:
    """One line naming every ``data.*`` field (and its linked source) whose parsed value differs from the
    checkpoint's, with both values, unless :data:`EVALUATION_ONLY` lets it differ."""
    given = data.as_dict() if isinstance(data, Namespace) else dict(data)
    point = checkpoint_point(Path(path), checkpoint)
    point.hparams = {"data": point.hparams["data"]}  # the model's: parsed from the checkpoint by Lightning
    refuse_contradicting_flags(point, {"data": given}, linked, may_differ=EVALUATION_ONLY, expected=EVALUATED)


def checkpoint_datamodule(
    path: str | Path, checkpoint: Mapping[str, Any], **settings: Any
) -> BiographyDataModule:
    """The DataModule a checkpoint was trained on, set up (populations, template splits, tokenizer): its
    recorded settings (:func:`data_defaults`, the seed included), where ``settings`` may change only the
    :data:`EVALUATION_ONLY` fields (``eval_batch_size=...``). A checkpoint without DataModule settings (not
    written by ``factdyn fit``) is a one-line :class:`CheckpointError`: its population is unknown."""
    keys = set(inspect.signature(BiographyDataModule.__init__).parameters) - {"self", "sampler"}
    defaults = data_defaults(checkpoint, keys)
    if not defaults:
        raise CheckpointError(
            f"{path}: records no data settings (not written by factdyn fit), so its population is unknown"
        )
    for key in settings:
        require(
            key in EVALUATION_ONLY["data"],
            f"data.{key}",
            f"one of {', '.join(EVALUATION_ONLY['data'])} (the rest is the checkpoint's population)",
            settings[key],
        )
    kwargs = {k.removeprefix("data."): v for k, v in defaults.items() if k.startswith("data.")}
    if SEED_SOURCE in defaults:
        kwargs["seed"] = defaults[SEED_SOURCE]
    datamodule = BiographyDataModule(**{**kwargs, **settings})
    datamodule.setup("predict")
    return datamodule
