"""Text, figures and histograms of a run: into TensorBoard when the run logs there, else files.

Only TensorBoard's writer takes text (the hallucination tables, the phase boundaries), figures (the
knowledge panel, attention heatmaps) and histograms (exposures per individual). With any other logger
(``CSVLogger``, a hosted tracker) or none, they are written into the run directory instead, under
``media/`` (:data:`factdyn.run_layout.MEDIA`), named after their tag::

    media/hallucinations/examples.md          text: one "## step <k>" section per call, appended
    media/panel/known_vs_exposures/step_00000040.png   figures: one PNG per call
    media/exposures/per_individual.csv        histograms: step,lo,hi,count rows, appended

and one line says where, once per run. Only rank zero writes, as for every file of the run directory.
"""

from __future__ import annotations

import re
import weakref
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_info

from factdyn.callbacks.quiet import rank_zero_run_dir
from factdyn.run_layout import CSV_METRICS, MEDIA, media_path

_announced: weakref.WeakSet[L.Trainer] = weakref.WeakSet()
"""The trainers that announced their media folder (the one line per run: a resumed run is a new trainer)."""


def tensorboard_writer(trainer: L.Trainer) -> Any | None:
    """The ``SummaryWriter`` of the trainer's TensorBoardLogger, or ``None`` when it has none."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


def _media_file(trainer: L.Trainer, tag: str, suffix: str) -> Path | None:
    """``<run dir>/media/<tag><suffix>`` with its folder made, announced once per run; ``None`` off rank
    zero or without a run directory."""
    if not trainer.is_global_zero or trainer.fast_dev_run:
        return None
    run_dir = rank_zero_run_dir(trainer)
    if run_dir is None:
        return None
    if trainer not in _announced:
        _announced.add(trainer)
        names = ", ".join(type(logger).__name__ for logger in trainer.loggers)
        what = "no logger: text, figures and histograms"
        if names:
            what = f"{names} takes no text, figures or histograms: they"
        rank_zero_info(f"factdyn: {what} are written as files under {run_dir / MEDIA}")
    path = media_path(run_dir, tag, suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def log_text(trainer: L.Trainer, tag: str, text: str) -> None:
    """Markdown ``text`` at the current step: TensorBoard text, else a section of ``media/<tag>.md``."""
    writer = tensorboard_writer(trainer)
    if writer is not None:
        writer.add_text(tag, text, global_step=trainer.global_step)
        return
    path = _media_file(trainer, tag, ".md")
    if path is not None:
        with path.open("a", encoding="utf-8") as f:
            f.write(f"## step {trainer.global_step}\n\n{text}\n\n")


def log_figure(trainer: L.Trainer, tag: str, figure: Any) -> None:
    """A matplotlib figure at the current step: a TensorBoard figure, else
    ``media/<tag>/step_<k>.png``."""
    writer = tensorboard_writer(trainer)
    if writer is not None:
        writer.add_figure(tag, figure, global_step=trainer.global_step)
        return
    path = _media_file(trainer, f"{tag}/step_{trainer.global_step:08d}", ".png")
    if path is not None:
        figure.savefig(path, dpi=100)


def log_histogram(trainer: L.Trainer, tag: str, values: np.ndarray) -> None:
    """The distribution of ``values`` at the current step: a TensorBoard histogram, else the rows
    ``step,lo,hi,count`` of ``media/<tag>.csv`` (:func:`histogram_edges`)."""
    writer = tensorboard_writer(trainer)
    if writer is not None:
        writer.add_histogram(tag, values, global_step=trainer.global_step)
        return
    path = _media_file(trainer, tag, ".csv")
    if path is None:
        return
    counts, edges = np.histogram(values, bins=histogram_edges(np.asarray(values)))
    new = not path.exists()
    with path.open("a", encoding="utf-8") as f:
        if new:
            f.write("step,lo,hi,count\n")
        step = trainer.global_step
        f.writelines(
            f"{step},{lo:.6g},{hi:.6g},{count}\n"
            for lo, hi, count in zip(edges[:-1], edges[1:], counts, strict=True)
        )


def histogram_edges(values: np.ndarray) -> np.ndarray:
    """numpy's automatic bin edges; for integers (exposure counts), bins of a whole width from a whole
    number, so that a bin counts whole values."""
    edges = np.histogram_bin_edges(values.astype(np.float64), bins="auto")
    if not np.issubdtype(values.dtype, np.integer) or not len(values):
        return edges
    width = max(1, int(np.ceil(edges[1] - edges[0])))
    low, high = int(values.min()), int(values.max())
    return np.arange(low, high + width + 1, width, dtype=np.float64)


def output_places(trainer: L.Trainer, run_dir: Path) -> list[str]:
    """Where the run's outputs are, one line per logger (what the run summary prints): TensorBoard's
    command, a CSVLogger's ``metrics.csv``, another logger's name, or that there is none; and the media
    folder when the run wrote one."""
    places = []
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            places.append(f"TensorBoard: tensorboard --logdir {Path(logger.log_dir).parent}")
        elif isinstance(logger, CSVLogger):
            places.append(f"metrics: {Path(logger.log_dir) / CSV_METRICS}")
        else:
            places.append(f"metrics: {type(logger).__name__}")
    if not trainer.loggers:
        places.append("metrics: no logger (trainer.logger false); the final values are in the summary")
    if (run_dir / MEDIA).is_dir():
        places.append(f"text, figures, histograms: {run_dir / MEDIA}")
    return places


def forget_media_from(run_dir: str | Path, step: int) -> None:
    """Drop what ``media/`` holds from ``step`` on (text sections, figures, histogram rows): a run resumed
    from that step's checkpoint writes them again, as TensorBoard's ``purge_step`` does for its events."""
    folder = Path(run_dir) / MEDIA
    if not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if path.suffix == ".png":
            drawn_at = _png_step(path)
            if drawn_at is not None and drawn_at >= step:
                path.unlink()
        elif path.suffix == ".md":
            sections = re.split(r"(?m)^(?=## step \d+$)", path.read_text(encoding="utf-8"))
            kept = [s for s in sections if not s.startswith("## step ") or int(s.split(None, 3)[2]) < step]
            path.write_text("".join(kept), encoding="utf-8")
        elif path.suffix == ".csv":
            header, *rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
            path.write_text(header + "".join(r for r in rows if int(r.split(",", 1)[0]) < step))


def _png_step(path: Path) -> int | None:
    match = re.fullmatch(r"step_(\d+)\.png", path.name)
    return int(match.group(1)) if match else None
