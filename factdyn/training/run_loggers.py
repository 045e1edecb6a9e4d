"""Which loggers give a ``fit`` a run directory, where a run with no logger goes, and how a resumed run
continues a CSVLogger's ``metrics.csv``.

A run directory is ``<runs root>/version_<k>`` (:mod:`factdyn.run_layout`). TensorBoardLogger and
CSVLogger number their runs that way under ``<save_dir>/<name>``, so a new run claims its version there
and ``--ckpt_path last`` finds the newest run there. Other loggers (hosted trackers) keep no such
folder: with one, ``--ckpt_path`` needs a checkpoint file. With no logger at all (``trainer.logger
false``), the runs root is ``trainer.default_root_dir`` when it is given, else the default logger's
``<save_dir>/<name>`` (``logs/factdyn``): a run still gets a ``version_<k>`` of its own, never the working
directory.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger

from factdyn.run_layout import CSV_METRICS

TENSORBOARD_LOGGERS = (
    "lightning.pytorch.loggers.TensorBoardLogger",
    "lightning.pytorch.loggers.tensorboard.TensorBoardLogger",
)
CSV_LOGGERS = (
    "lightning.pytorch.loggers.CSVLogger",
    "lightning.pytorch.loggers.csv_logs.CSVLogger",
)
RUN_DIRECTORY_LOGGERS = (*TENSORBOARD_LOGGERS, *CSV_LOGGERS)
"""The loggers whose runs are ``<save_dir>/<name>/version_<k>`` folders."""


def _one_logger(config: Any) -> Any | None:
    logger = config["trainer"].get("logger")
    if isinstance(logger, list):
        logger = logger[0] if len(logger) == 1 else None
    return logger


def run_logger_args(config: Any) -> Any | None:
    """The ``init_args`` of the one TensorBoardLogger or CSVLogger in a parsed ``trainer.logger``, else
    ``None``."""
    logger = _one_logger(config)
    class_path = getattr(logger, "class_path", None) if logger is not None else None
    return logger.init_args if class_path in RUN_DIRECTORY_LOGGERS else None


def is_tensorboard(config: Any) -> bool:
    """Whether ``trainer.logger`` is one TensorBoardLogger."""
    logger = _one_logger(config)
    return getattr(logger, "class_path", None) in TENSORBOARD_LOGGERS


def has_no_logger(config: Any) -> bool:
    """Whether the parsed ``trainer.logger`` is off (``false``, ``null`` or an empty list)."""
    logger = config["trainer"].get("logger")
    return logger is False or logger is None or (isinstance(logger, list) and not logger)


def unlogged_runs_root(config: Any, default: Path) -> Path | None:
    """For a run with no logger, the folder of its ``version_*`` runs: ``trainer.default_root_dir`` if
    given, else ``default``; ``None`` when the run has a logger."""
    if not has_no_logger(config):
        return None
    given = config["trainer"].get("default_root_dir")
    return Path(given) if given else default


def runs_root(config: Any, default: Path) -> Path | None:
    """The folder holding the ``version_*`` runs of this configuration (``None`` for a logger without one).
    ``default``: the runs root of a run with no logger (:func:`unlogged_runs_root`)."""
    logger = run_logger_args(config)
    if logger is not None:
        return Path(logger["save_dir"]) / str(logger["name"] or "")
    return unlogged_runs_root(config, default)


def continue_csv_metrics(logger: CSVLogger, step: int) -> None:
    """Before a resumed run logs: keep the rows of ``metrics.csv`` from before ``step`` and let the logger
    append to them (the resumed process logs every step from the checkpoint's on again, as it does for
    TensorBoard with ``purge_step``).

    Lightning's CSV writer deletes a non-empty run directory's ``metrics.csv`` when it starts (with a
    warning about it), then writes a header of only the keys it has seen; so the rows are read first, the
    writer is created with that warning silenced, and the rows and the full header are put back.
    """
    path = Path(logger.log_dir) / CSV_METRICS
    if not path.is_file():
        return
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = sorted(reader.fieldnames or [])  # Lightning's order, so that its appended rows line up
        kept = [row for row in reader if _step(row) is not None and _step(row) < step]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Experiment logs directory .* exists and is not empty")
        writer = logger.experiment
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=header)
        out.writeheader()
        out.writerows(kept)
    writer.metrics_keys = header


def _step(row: dict[str, str]) -> int | None:
    try:
        return int(float(row.get("step") or ""))
    except ValueError:
        return None
