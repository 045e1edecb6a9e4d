"""Run-directory policy for ``fit``: which checkpoint a resume starts from, never overwriting a run, no
debris from a run that failed before its first checkpoint, and every checkpoint through AtomicCheckpointIO.

The names of the files live in :mod:`factdyn.run_layout`; the CLI calls these functions from its hooks.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch import Trainer
from lightning.pytorch.utilities import rank_zero_warn

from factdyn.checks import ConfigError
from factdyn.run_layout import (
    CHECKPOINT_GLOB,
    checkpoint_dir,
    checkpoint_step,
    has_checkpoint,
    holds_a_run,
    version_number,
)
from factdyn.training.checkpoint_files import CorruptCheckpointError, load_verified
from factdyn.training.checkpoint_io import AtomicCheckpointIO, has_optimizer_state

TENSORBOARD_LOGGERS = (
    "lightning.pytorch.loggers.TensorBoardLogger",
    "lightning.pytorch.loggers.tensorboard.TensorBoardLogger",
)
LIGHTNING_CKPT_WORDS = ("best", "hpc", "registry")
"""``--ckpt_path`` words Lightning knows that make no sense for a factdyn ``fit``."""


def find_resume_checkpoint(runs_root: str | Path) -> tuple[Path, Path, list[str], dict[str, Any]] | None:
    """The newest valid checkpoint under ``<runs_root>/version_*/checkpoints``.

    Runs are tried newest version first; within a run, checkpoints newest file first (``last.ckpt`` and the
    scheduled ``step=*.ckpt`` files). Returns ``(path, run_dir, skipped, checkpoint)`` where ``skipped`` lists
    one line per checkpoint passed over (corrupt, or lean: without the optimizer state a resume needs) and
    ``checkpoint`` is the loaded file (verifying it loads it anyway), or ``None`` when there is no valid
    checkpoint.
    """
    root = Path(runs_root)
    if not root.is_dir():
        return None
    runs = sorted((d for d in root.iterdir() if d.is_dir() and version_number(d) >= 0), key=version_number)
    skipped: list[str] = []
    for run_dir in reversed(runs):
        ckpt_dir = checkpoint_dir(run_dir)
        if not ckpt_dir.is_dir():
            continue
        candidates = [p for p in ckpt_dir.glob(CHECKPOINT_GLOB) if p.is_file()]

        def newest_first(p: Path) -> tuple[float, int]:
            step = checkpoint_step(p)
            return (p.stat().st_mtime, step if step is not None else 1 << 62)

        for path in sorted(candidates, key=newest_first, reverse=True):
            try:
                checkpoint = load_verified(path)
            except CorruptCheckpointError as err:
                skipped.append(str(err))
                continue
            if not has_optimizer_state(checkpoint):
                skipped.append(f"{path}: no optimizer state (a lean scheduled checkpoint), cannot resume")
                continue
            return path, run_dir, skipped, checkpoint
    return None


@dataclass
class ResumePoint:
    """Where a resumed ``fit`` starts: the checkpoint, its step, and the run directory it continues
    (``None`` when the checkpoint is not inside a run directory of this logger: a new run starts from it)."""

    path: Path
    step: int
    run_dir: Path | None


def resolve_resume(ckpt_path: str, runs_root: Path | None) -> ResumePoint:
    """The checkpoint ``fit --ckpt_path`` names: ``last`` (the newest valid checkpoint of the newest run of
    ``runs_root``, skipping corrupt ones with a warning) or a file, verified before any run directory exists.
    """
    if ckpt_path == "last":
        if runs_root is None:
            raise ConfigError(
                "ckpt_path",
                "'last' only with a TensorBoardLogger in trainer.logger (else a checkpoint file path)",
                ckpt_path,
            )
        found = find_resume_checkpoint(runs_root)
        if found is None:
            raise FileNotFoundError(
                f"ckpt_path: 'last' found no valid checkpoint under {runs_root}/version_*/checkpoints "
                "(lean scheduled ones, without optimizer state, cannot resume; start without --ckpt_path, or "
                "pass a checkpoint file)"
            )
        path, run_dir, skipped, checkpoint = found
        for line in skipped:
            rank_zero_warn(f"skipping checkpoint {line}")
        return ResumePoint(path, int(checkpoint.get("global_step", 0)), run_dir)
    if ckpt_path in LIGHTNING_CKPT_WORDS or str(ckpt_path).startswith("registry:"):
        raise ConfigError("ckpt_path", "'last' or a checkpoint file for fit", ckpt_path)
    path = Path(ckpt_path)
    # A one-line error for a missing, corrupt or lean file, before any run directory exists.
    checkpoint = load_verified(path)
    if not has_optimizer_state(checkpoint):
        raise ConfigError(
            "ckpt_path",
            "a checkpoint with its optimizer state (last.ckpt; scheduled ones may be lean)",
            str(path),
        )
    run_dir: Path | None = path.resolve().parent.parent
    if runs_root is None or run_dir.parent != runs_root.resolve():
        run_dir = None
    return ResumePoint(path, int(checkpoint.get("global_step", 0)), run_dir)


def tensorboard_logger_args(config: Any) -> Any | None:
    """The ``init_args`` of the one TensorBoardLogger in a parsed ``trainer.logger``, else ``None``."""
    logger = config["trainer"].get("logger")
    if isinstance(logger, list):
        logger = logger[0] if len(logger) == 1 else None
    class_path = getattr(logger, "class_path", None) if logger is not None else None
    return logger.init_args if class_path in TENSORBOARD_LOGGERS else None


def runs_root(logger_args: Any | None) -> Path | None:
    """``<save_dir>/<name>``: the folder holding the ``version_*`` runs of a TensorBoardLogger."""
    if logger_args is None:
        return None
    return Path(logger_args["save_dir"]) / str(logger_args["name"] or "")


def refuse_existing_run(log_dir: str | Path) -> None:
    """A fresh ``fit`` never writes into a directory that already holds a run."""
    if holds_a_run(log_dir):
        raise FileExistsError(
            f"trainer.logger.init_args.version: run directory {log_dir} already holds a run; "
            "factdyn never overwrites one (omit version for a new one, or resume with --ckpt_path last)"
        )


def remove_failed_run(log_dir: str | Path) -> None:
    """Delete the directory of a run that failed before writing its first checkpoint (nothing to resume)."""
    run_dir = Path(log_dir)
    if run_dir.is_dir() and not has_checkpoint(run_dir):
        shutil.rmtree(run_dir, ignore_errors=True)


def install_checkpoint_io(trainer: Trainer, config_yaml: str | None) -> None:
    """Route the trainer's checkpoints through AtomicCheckpointIO, recording the resolved config."""
    io = trainer.strategy.checkpoint_io
    if type(io) is TorchCheckpointIO:
        io = AtomicCheckpointIO()
        trainer.strategy.checkpoint_io = io
    elif not isinstance(io, AtomicCheckpointIO):
        rank_zero_warn(f"trainer.plugins sets {type(io).__name__}: checkpoints are not hashed by factdyn")
        return
    if config_yaml is not None:
        io.config = config_yaml
