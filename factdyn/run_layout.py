"""The run directory: every name factdyn gives a file in ``<save_dir>/<name>/version_<k>``, and what
"finished" means. Neither torch nor Lightning, so training, sweeps and analysis all read the same names.

A run directory holds::

    config.yaml              the resolved configuration (LightningCLI)
    hparams.yaml             the module's and data's hyperparameters, the sampler, max_steps (the logger)
    events.out.tfevents.*    TensorBoard scalars, text, figures, layout and hparams records
    sampler.json             the training sampler's description (ExposureCounter)
    exposures.csv            per-individual exposure counts at the end (ExposureCounter)
    panel.csv.gz             the knowledge panel: per (evaluation, individual) exposures, known, losses
                             (KnowledgePanel; only with panel.size > 0)
    metrics.csv              the scalars, with a CSVLogger instead of TensorBoard
    media/                   text, figures and histograms, when no TensorBoardLogger takes them
    summary.json             final metrics, phases, timings: written at the end of fit (RunSummary),
                             or with "status": "interrupted" when a SIGTERM stopped the run
    checkpoints/last.ckpt    the newest full training state (for resume)
    checkpoints/step=00000750.ckpt   scheduled checkpoints (CheckpointSchedule)
    checkpoints/*.sha256     each checkpoint's hash sidecar
    eval/evaluations.jsonl   ``factdyn validate`` / ``test`` of the run's checkpoints: one record per
                             (evaluation, checkpoint step), replaced when evaluated again
    eval/<evaluation>/events.out.tfevents.*   those records as TensorBoard curves at the checkpoints'
                             steps, rewritten from evaluations.jsonl (``validate``, ``test``,
                             ``validate-shuffle_sentences=true``, ...: :func:`evaluation_name`)
    eval/predictions_<checkpoint>_<population>.jsonl   greedy answers (``factdyn predict``)

Everything under ``eval/`` is written after (or beside) the training run, never as a run version of its
own; a checkpoint outside a run directory gets its ``eval/`` folder beside it (:func:`evaluation_home`).

An **archived** run (``factdyn archive``, :mod:`factdyn.analysis.archive`) keeps the small files above
(:data:`ARCHIVED_FILES`) and, instead of the event files, every scalar as ``scalars.csv.gz`` (step, tag,
value), plus ``archive.json`` (where it came from and the SHA-256 of each archived file). The analysis reads
either form.

A run is **finished** when ``summary.json`` exists and does not say ``"status": "interrupted"``: RunSummary
writes it as the last act of a ``fit`` that ran to its end; a run stopped by SIGTERM (a pre-empted job)
writes one with that status next to the checkpoint it saved, and a killed run has none.

Beside the ``version_*`` folders, ``<save_dir>/<name>/abandoned/attempt_<k>`` holds an interrupted attempt a
sweep could not resume (no checkpoint with its optimizer state) and restarted from scratch; the analysis
never reads it as a run.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

VERSION_PREFIX = "version_"
CONFIG = "config.yaml"
EVENTS_GLOB = "events.out.tfevents.*"
SAMPLER = "sampler.json"
EXPOSURES = "exposures.csv"
PANEL = "panel.csv.gz"
SUMMARY = "summary.json"
STATUS_FINISHED = "finished"
STATUS_INTERRUPTED = "interrupted"
"""``summary.json``'s ``status``: the run ran to its end, or a SIGTERM stopped it (it can resume)."""
MEDIA = "media"
"""The folder of text, figures and histograms that no logger of the run takes (factdyn.callbacks.media)."""
CSV_METRICS = "metrics.csv"
EVAL_DIR = "eval"
SCALARS_TABLE = "scalars.csv.gz"
ARCHIVE_RECORD = "archive.json"
EVALUATIONS = f"{EVAL_DIR}/evaluations.jsonl"
ARCHIVED_FILES = (CONFIG, SUMMARY, SAMPLER, EXPOSURES, PANEL, EVALUATIONS)
"""The run directory's files an archive copies as they are (those a run has; the scalars are converted)."""
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"
CHECKPOINT_GLOB = "*.ckpt"
ABANDONED = "abandoned"
ATTEMPT_PREFIX = "attempt_"
_STEP_CHECKPOINT = re.compile(r"step=(\d+)\.ckpt$")
_VERSION = re.compile(rf"{VERSION_PREFIX}(\d+)")


def version_dir(runs_root: str | Path, version: int) -> Path:
    """``<runs_root>/version_<version>``."""
    return Path(runs_root) / f"{VERSION_PREFIX}{version}"


def version_number(run_dir: str | Path) -> int:
    """``version_12`` -> 12 (-1 for other names)."""
    match = _VERSION.fullmatch(Path(run_dir).name)
    return int(match.group(1)) if match else -1


def step_filename(step: int) -> str:
    """The file name of the scheduled checkpoint of ``step``: ``step=`` and the step in 8 digits."""
    return f"step={step:08d}.ckpt"


def checkpoint_step(path: str | Path) -> int | None:
    """The step in a scheduled checkpoint's name (``step=00000750.ckpt`` -> 750), else ``None``."""
    match = _STEP_CHECKPOINT.search(Path(path).name)
    return int(match.group(1)) if match else None


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR


def last_checkpoint(run_dir: str | Path) -> Path:
    return checkpoint_dir(run_dir) / LAST_CHECKPOINT


def run_checkpoint(run_dir: str | Path) -> Path | None:
    """The checkpoint a run directory stands for: its ``checkpoints/last.ckpt``, else its newest scheduled
    checkpoint; ``None`` when it holds neither."""
    last = last_checkpoint(run_dir)
    if last.is_file():
        return last
    scheduled = [p for p in checkpoint_dir(run_dir).glob(CHECKPOINT_GLOB) if checkpoint_step(p) is not None]
    return max(scheduled, key=lambda p: checkpoint_step(p) or 0) if scheduled else None


def eval_dir(run_dir: str | Path) -> Path:
    """Where evaluations of a run's checkpoints go (``factdyn validate`` / ``test`` / ``predict``)."""
    return Path(run_dir) / EVAL_DIR


def run_of_checkpoint(checkpoint: str | Path) -> Path | None:
    """The run directory a checkpoint lies in (``<run>/checkpoints/x.ckpt``), else ``None``."""
    parent = Path(checkpoint).resolve().parent
    return parent.parent if parent.name == CHECKPOINT_DIR else None


def evaluation_home(checkpoint: str | Path) -> Path:
    """The folder whose ``eval/`` receives a checkpoint's evaluations: its run directory, or the
    checkpoint's own folder when it lies outside a run."""
    return run_of_checkpoint(checkpoint) or Path(checkpoint).resolve().parent


def evaluations_path(home: str | Path) -> Path:
    """``<home>/eval/evaluations.jsonl``."""
    return Path(home) / EVALUATIONS


def read_evaluations(home: str | Path) -> list[dict]:
    """The records of ``<home>/eval/evaluations.jsonl``, in file order (empty when there is none); an
    archived run holds the same file (:data:`ARCHIVED_FILES`)."""
    path = evaluations_path(home)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluation_name(subcommand: str, settings: dict[str, object]) -> str:
    """An evaluation's name: the subcommand, then each setting that differs from the checkpoint's run,
    sorted (``validate``, ``validate-shuffle_sentences=true``); JSON spelling of the values."""
    parts = [subcommand, *(f"{k}={json.dumps(v)}" for k, v in sorted(settings.items()))]
    return "-".join(parts)


def evaluation_events_dir(home: str | Path, name: str) -> Path:
    """``<home>/eval/<evaluation name>``: that evaluation's TensorBoard curve."""
    return eval_dir(home) / name


EVALUATING_SUBCOMMANDS = ("validate", "test")
"""The subcommands whose results go under ``eval/`` (the first word of an evaluation's name)."""


def is_evaluation_curve(path: str | Path) -> bool:
    """Whether a folder is an evaluation's TensorBoard curve (``<home>/eval/validate...``), not a run."""
    path = Path(path)
    return path.parent.name == EVAL_DIR and path.name.split("-")[0] in EVALUATING_SUBCOMMANDS


def predictions_path(run_dir: str | Path, checkpoint: str | Path, population: str) -> Path:
    """``eval/predictions_<checkpoint name without .ckpt>_<population>.jsonl`` of ``run_dir``."""
    return eval_dir(run_dir) / f"predictions_{Path(checkpoint).stem}_{population}.jsonl"


def summary_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / SUMMARY


def summary_status(run_dir: str | Path) -> str | None:
    """``summary.json``'s ``status`` (``None`` without a summary; a summary written before statuses existed,
    or one that cannot be read, counts as finished)."""
    path = summary_path(run_dir)
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return STATUS_FINISHED
    status = summary.get("status") if isinstance(summary, dict) else None
    return STATUS_INTERRUPTED if status == STATUS_INTERRUPTED else STATUS_FINISHED


def is_finished(run_dir: str | Path) -> bool:
    """Whether the run ran to its end (it wrote ``summary.json``, not an interrupted one)."""
    return summary_status(run_dir) == STATUS_FINISHED


def media_path(run_dir: str | Path, tag: str, suffix: str) -> Path:
    """``<run_dir>/media/<tag><suffix>``: a logged tag's file (``panel/first_known`` -> a subfolder)."""
    parts = [p for p in tag.split("/") if p not in ("", ".", "..")]
    return Path(run_dir, MEDIA, *parts[:-1], parts[-1] + suffix)


def is_archived(run_dir: str | Path) -> bool:
    """Whether a directory is an archived run (it holds ``archive.json``)."""
    return (Path(run_dir) / ARCHIVE_RECORD).is_file()


def holds_a_run(run_dir: str | Path) -> bool:
    """Whether a directory already holds a run (TensorBoard events or any checkpoint)."""
    run_dir = Path(run_dir)
    return run_dir.is_dir() and (any(run_dir.glob(EVENTS_GLOB)) or has_checkpoint(run_dir))


def has_checkpoint(run_dir: str | Path) -> bool:
    """Whether a directory holds a checkpoint anywhere below it."""
    return Path(run_dir).is_dir() and any(Path(run_dir).rglob(CHECKPOINT_GLOB))


def abandoned_attempt(run_dir: str | Path) -> Path:
    """A free ``<runs_root>/abandoned/attempt_<k>`` for the unresumable attempt in ``run_dir``."""
    folder = Path(run_dir).parent / ABANDONED
    taken = [p.name.removeprefix(ATTEMPT_PREFIX) for p in folder.glob(f"{ATTEMPT_PREFIX}*")]
    return folder / f"{ATTEMPT_PREFIX}{max((int(k) for k in taken if k.isdigit()), default=0) + 1}"


def is_abandoned(path: str | Path, root: str | Path) -> bool:
    """Whether ``path`` lies in an ``abandoned/attempt_<k>`` folder below ``root`` (an attempt, not a result;
    a sweep or run that is itself named ``abandoned`` is not one)."""
    parts = Path(path).relative_to(root).parts
    return any(a == ABANDONED and b.startswith(ATTEMPT_PREFIX) for a, b in itertools.pairwise(parts))
