"""Run-directory policy for ``fit``: which run and checkpoint a resume continues (only an interrupted run,
only with the checkpoint's own hyperparameters), run directories claimed atomically, never overwriting a run,
no debris from a run that failed before its first checkpoint, and every checkpoint through
AtomicCheckpointIO.

The names of the files live in :mod:`factdyn.run_layout`; the CLI calls these functions from its hooks.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch import Trainer
from lightning.pytorch.utilities import rank_zero_warn

from factdyn.checks import ConfigError
from factdyn.model import TransformerConfig
from factdyn.run_layout import (
    CHECKPOINT_GLOB,
    EVENTS_GLOB,
    SUMMARY,
    checkpoint_dir,
    checkpoint_step,
    has_checkpoint,
    holds_a_run,
    is_finished,
    version_dir,
    version_number,
)
from factdyn.training.checkpoint_files import CorruptCheckpointError, load_verified
from factdyn.training.checkpoint_io import AtomicCheckpointIO, has_optimizer_state

LIGHTNING_CKPT_WORDS = ("best", "hpc", "registry")
"""``--ckpt_path`` words Lightning knows that make no sense for a factdyn ``fit``."""


class ResumeError(ValueError):
    """``fit --ckpt_path`` names nothing that can be resumed; the message is one line starting with
    ``ckpt_path:`` and saying what to do instead."""


def newest_run(runs_root: str | Path) -> Path | None:
    """The ``version_*`` folder of ``runs_root`` with the highest number (``None`` when there is none)."""
    root = Path(runs_root)
    if not root.is_dir():
        return None
    runs = [d for d in root.iterdir() if d.is_dir() and version_number(d) >= 0]
    return max(runs, key=version_number, default=None)


def resumable_checkpoint(run_dir: str | Path) -> tuple[Path, list[str], dict[str, Any]] | None:
    """The newest valid checkpoint of one run directory that can resume it.

    Newest file first (``last.ckpt`` and the scheduled ``step=*.ckpt`` files). Returns ``(path, skipped,
    checkpoint)`` where ``skipped`` lists one line per checkpoint passed over (corrupt, or lean: without the
    optimizer state a resume needs) and ``checkpoint`` is the loaded file (verifying it loads it anyway), or
    ``None`` when the run has no such checkpoint.
    """
    ckpt_dir = checkpoint_dir(run_dir)
    if not ckpt_dir.is_dir():
        return None
    candidates = [p for p in ckpt_dir.glob(CHECKPOINT_GLOB) if p.is_file()]

    def newest_first(p: Path) -> tuple[float, int]:
        step = checkpoint_step(p)
        return (p.stat().st_mtime, step if step is not None else 1 << 62)

    skipped: list[str] = []
    for path in sorted(candidates, key=newest_first, reverse=True):
        try:
            checkpoint = load_verified(path)
        except CorruptCheckpointError as err:
            skipped.append(str(err))
            continue
        if not has_optimizer_state(checkpoint):
            skipped.append(f"{path}: no optimizer state (a lean scheduled checkpoint), cannot resume")
            continue
        return path, skipped, checkpoint
    return None


def find_resume_checkpoint(runs_root: str | Path) -> tuple[Path, Path, list[str], dict[str, Any]] | None:
    """What ``--ckpt_path last`` resumes: :func:`resumable_checkpoint` of the newest run of ``runs_root``.

    Only the newest ``version_*`` is looked at: an older run is never resumed in its place (that would
    continue, and rewrite, a run other than the one that was interrupted). Returns ``(path, run_dir,
    skipped, checkpoint)``, or ``None`` when the newest run has no checkpoint that can resume it.
    """
    run_dir = newest_run(runs_root)
    found = resumable_checkpoint(run_dir) if run_dir is not None else None
    if found is None:
        return None
    path, skipped, checkpoint = found
    return path, run_dir, skipped, checkpoint


@dataclass
class ResumePoint:
    """Where a resumed ``fit`` starts: the checkpoint, its step, and the run directory it continues
    (``None`` when the checkpoint is not inside a run directory of this logger: a new run starts from it)."""

    path: Path
    step: int
    run_dir: Path | None
    hparams: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The checkpoint's hyperparameters by CLI section (``model``, ``data``), for
    :func:`refuse_contradicting_flags`."""


def checkpoint_point(path: Path, checkpoint: dict[str, Any], run_dir: Path | None = None) -> ResumePoint:
    """The step and the ``model`` / ``data`` hyperparameters a loaded checkpoint records (what
    :func:`refuse_contradicting_flags` compares a run's settings with)."""
    hparams = {
        section: dict(checkpoint.get(key) or {})
        for section, key in (("model", "hyper_parameters"), ("data", "datamodule_hyper_parameters"))
    }
    config = hparams["model"].get("config")
    if isinstance(config, Mapping):
        # A field added after the checkpoint was written held its default there (``positions: learned``):
        # compared as such, ``--model.config.positions rotary`` on an older run is refused in one line.
        hparams["model"]["config"] = {**TransformerConfig.defaults(), **config}
    return ResumePoint(path, int(checkpoint.get("global_step", 0)), run_dir, hparams)


def refuse_finished_run(run_dir: Path, ckpt_path: str) -> None:
    """A finished run is never resumed: it would be rewritten (config, events, summary) by another fit."""
    if is_finished(run_dir):
        raise ResumeError(
            f"ckpt_path: {run_dir.name} ({run_dir}) finished (it has {SUMMARY}); factdyn does not resume a "
            f"finished run (got {ckpt_path!r}): start a new run (omit --ckpt_path), or fine-tune from one of "
            "its checkpoints with --model.init_checkpoint <file>"
        )


def resolve_resume(ckpt_path: str, runs_root: Path | None) -> ResumePoint:
    """The checkpoint ``fit --ckpt_path`` names, verified before any run directory is touched.

    ``last``: the newest valid checkpoint of the newest run of ``runs_root`` (skipping corrupt ones with a
    warning); if that run has none, or finished, a one-line :class:`ResumeError` (never an older run). A file:
    loaded and verified; inside a run of ``runs_root`` that run is continued unless it finished.
    """
    if ckpt_path == "last":
        if runs_root is None:
            raise ConfigError(
                "ckpt_path",
                "'last' only for runs with a run directory: a TensorBoardLogger or CSVLogger in "
                "trainer.logger, or none (with another logger, a checkpoint file path)",
                ckpt_path,
            )
        run_dir = newest_run(runs_root)
        if run_dir is None:
            raise ResumeError(
                f"ckpt_path: 'last' found no valid checkpoint: no version_* run under {runs_root}; "
                "start without --ckpt_path, or pass --ckpt_path <file>"
            )
        refuse_finished_run(run_dir, ckpt_path)
        found = resumable_checkpoint(run_dir)
        if found is None:
            raise ResumeError(
                f"ckpt_path: {run_dir.name} has no checkpoint to resume (no valid checkpoint in "
                f"{checkpoint_dir(run_dir)}; lean scheduled ones, without optimizer state, cannot resume); "
                "start afresh (omit --ckpt_path) or pass --ckpt_path <file>"
            )
        path, skipped, checkpoint = found
        for line in skipped:
            rank_zero_warn(f"skipping checkpoint {line}")
        return checkpoint_point(path, checkpoint, run_dir)
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
    if run_dir is not None:
        refuse_finished_run(run_dir, ckpt_path)
    return checkpoint_point(path, checkpoint, run_dir)


EXECUTION_ONLY = {
    "model": ("compile", "compile_mode", "compile_dynamic", "config.attention"),
    "data": ("num_workers", "pin_memory", "eval_batch_size"),
}
"""Fields a resume may change: they choose how the same computation runs (compiled or not, the fused or
explicit attention path, loader workers, evaluation batch size), not what is trained."""


def _flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if str(key).startswith("_"):  # Lightning's own entries (``_instantiator``)
            continue
        if isinstance(value, Mapping) and key == "config":
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return flat


RESUMING = (
    "as in the checkpoint being resumed ({path}; a resume keeps its run's model and data: change them in a "
    "new run, e.g. fine-tuning with --model.init_checkpoint)"
)
"""What a refused resume flag should be, and why (``{path}``: the checkpoint)."""


def refuse_contradicting_flags(
    resume: ResumePoint,
    current: Mapping[str, Mapping[str, Any]],
    linked: Mapping[str, str],
    *,
    may_differ: Mapping[str, Collection[str]] = EXECUTION_ONLY,
    expected: str = RESUMING,
) -> None:
    """A resume continues the checkpoint's run: a ``model.*`` or ``data.*`` value (a flag, a config file,
    or a value linked from another one, e.g. ``data.vocab_size`` -> ``model.config.vocab_size``) that differs
    from the checkpoint's is refused with one line naming it, instead of being dropped (Lightning restores
    the checkpoint's weights, optimizer and schedule over it) or silently changing the resumed run. Every
    such field is in the one line (``data.n_individuals, data.n_unseen: 64, 16 as in ..., got (2000, 1000)``).

    ``current`` holds the instantiated run's hyperparameters by section; ``linked`` maps a linked target to
    its source (``model.config.vocab_size`` -> ``data.vocab_size``). Fields of ``may_differ`` (by section;
    :data:`EXECUTION_ONLY` for a resume) and fields the checkpoint does not record (an older checkpoint)
    may differ. ``expected`` is the message's "allowed" part, after the checkpoint's value (``{path}``: the
    checkpoint); ``factdyn validate`` / ``test`` pass their own (:mod:`factdyn.training.evaluation_source`).
    """
    fields, saved_values, given_values = [], [], []
    for section, saved in resume.hparams.items():
        given = _flat(current.get(section) or {})
        for key, value in _flat(saved).items():
            name = f"{section}.{key}"
            if key in may_differ.get(section, ()) or key not in given or given[key] == value:
                continue
            fields.append(f"{name} (linked from {linked[name]})" if name in linked else name)
            saved_values.append(repr(value))
            given_values.append(given[key])
    if fields:
        # All of them in the one line: a config written for another population differs in several.
        raise ConfigError(
            ", ".join(fields),
            f"{', '.join(saved_values)} {expected.format(path=resume.path)}",
            given_values[0] if len(given_values) == 1 else tuple(given_values),
        )


def claim_run_directory(runs_root: str | Path) -> Path:
    """Create and return a new ``<runs_root>/version_<k>``, atomically.

    ``mkdir`` either creates the folder or fails because it exists, so two fits starting at the same
    moment with the same logger each get a folder of their own: a lost race moves on to the next number.
    Numbers continue after the highest existing one (Lightning's own rule for a new version).
    """
    root = Path(runs_root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        newest = newest_run(root)
        version = version_number(newest) + 1 if newest is not None else 0
        while True:
            try:
                path = version_dir(root, version)
                path.mkdir()
                return path
            except FileExistsError:
                version += 1
    except OSError as err:  # read-only or missing parent, a file in the way, permissions
        raise ConfigError(
            "trainer.logger.init_args.save_dir",
            "a directory where a run directory can be created",
            f"{root} ({err.strerror or err})",
        ) from None


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


def event_files(run_dir: str | Path) -> set[Path]:
    """The TensorBoard event files of a run directory."""
    return set(Path(run_dir).glob(EVENTS_GLOB))


def discard_new_event_files(run_dir: str | Path, before: set[Path]) -> None:
    """Delete the event files of ``run_dir`` that are not in ``before`` (those of a failed process)."""
    for path in event_files(run_dir) - before:
        path.unlink(missing_ok=True)


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
