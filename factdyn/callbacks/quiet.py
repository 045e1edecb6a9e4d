"""When a callback stays quiet: the one rule every factdyn callback asks before it observes or writes.

Like Lightning's ``EarlyStopping``, a callback does nothing during the sanity check and under
``fast_dev_run`` (a debugging run leaves no trace); a callback that follows training (phases, exposures,
curricula) also does nothing in ``validate`` / ``test``; and only rank zero writes files into the run
directory.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.trainer.states import TrainerFn


def quiet(trainer: L.Trainer, *, fitting_only: bool = False) -> bool:
    """Whether to skip this hook: sanity check, ``fast_dev_run``, or (``fitting_only``) outside ``fit``."""
    if trainer.sanity_checking or bool(trainer.fast_dev_run):
        return True
    return fitting_only and trainer.state.fn != TrainerFn.FITTING


def run_dir_to_write(trainer: L.Trainer) -> Path | None:
    """The run directory this process writes files into: rank zero of a real run with a log directory."""
    if trainer.fast_dev_run:
        return None
    # trainer.log_dir is a broadcast under DDP: every rank reads it exactly once here, before the rank test
    # (a rank that skips it, or reads it twice, leaves the others waiting forever).
    log_dir = trainer.log_dir
    if log_dir is None or not trainer.is_global_zero:
        return None
    return Path(log_dir)


def rank_zero_run_dir(trainer: L.Trainer) -> Path | None:
    """The run directory, for a hook that runs on rank zero alone (``trainer.log_dir`` is a collective
    under DDP and would wait for the other ranks forever): Lightning's rule for ``log_dir`` without its
    broadcast. ``None`` off rank zero."""
    if not trainer.is_global_zero:
        return None
    logger = trainer.loggers[0] if trainer.loggers else None
    directory = None
    if logger is not None:
        directory = logger.log_dir if isinstance(logger, (TensorBoardLogger, CSVLogger)) else logger.save_dir
    directory = directory or trainer.default_root_dir
    return Path(directory) if directory else None
