"""Writes ``summary.json`` into the run directory at the end of ``fit`` (or when a SIGTERM stops it) and
prints a short summary."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from factdyn.callbacks.media import output_places
from factdyn.callbacks.quiet import rank_zero_run_dir, run_dir_to_write
from factdyn.checks import require_relative_path
from factdyn.run_layout import STATUS_FINISHED, STATUS_INTERRUPTED, SUMMARY


class RunSummary(Callback):
    """Records steps, population size, seed, baseline, wall time and the last value of every logged metric.

    The wall time is split into evaluation and checkpoint writing (``time_split``, this process only: a
    resumed run counts from its restart), so a slow run shows where its time went.

    Other callbacks can contribute a section by implementing ``summary() -> dict`` (e.g. the phase
    detector's ``plateau``); they are found by that method, not by type, so neither depends on the other.

    ``status`` is ``finished`` for a run that reached its end and ``interrupted`` for one a SIGTERM stopped
    (:class:`~factdyn.callbacks.preemption.PreemptionCheckpoint` saved its checkpoint): such a run is not
    finished (:func:`factdyn.run_layout.is_finished`), and ``--ckpt_path last`` resumes it.
    """

    def __init__(self, filename: str = SUMMARY) -> None:
        require_relative_path("summary.filename", filename, "the run directory")
        self.filename = filename
        self._start = 0.0
        self._elapsed_before = 0.0
        self._validation_seconds = 0.0
        self._validation_start: float | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._validation_start = None if trainer.sanity_checking else time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._validation_start is not None:
            self._validation_seconds += time.perf_counter() - self._validation_start
            self._validation_start = None

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        run_dir = run_dir_to_write(trainer)
        if run_dir is not None:
            self.write(trainer, pl_module, run_dir, STATUS_FINISHED)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if not isinstance(exception, SIGTERMException) or trainer.state.fn != TrainerFn.FITTING:
            return
        # Not trainer.log_dir: a collective, and a rank may meet an exception alone.
        run_dir = rank_zero_run_dir(trainer) if not trainer.fast_dev_run else None
        if run_dir is not None:
            self.write(trainer, pl_module, run_dir, STATUS_INTERRUPTED)

    def write(self, trainer: L.Trainer, pl_module: L.LightningModule, run_dir: Path, status: str) -> None:
        """Write ``summary.json`` with ``status`` and print the summary with where the run's outputs are."""
        summary = {"status": status, **self.collect(trainer, pl_module, str(run_dir))}
        path = run_dir / self.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2, sort_keys=True))
        print(format_summary(summary, path, output_places(trainer, run_dir)))

    def collect(
        self, trainer: L.Trainer, pl_module: L.LightningModule, log_dir: str | None = None
    ) -> dict[str, Any]:
        datamodule = trainer.datamodule
        final = {
            k: float(v) for k, v in sorted(trainer.callback_metrics.items()) if v.numel() == 1 and k != "step"
        }
        summary: dict[str, Any] = {
            "steps": trainer.global_step,
            "n_individuals": getattr(datamodule, "n_individuals", None),
            "seed": getattr(datamodule, "seed", None),
            "baseline_attr_loss": getattr(pl_module, "baseline_attr_loss", None),
            "wall_seconds": round(self._elapsed_before + time.perf_counter() - self._start, 2),
            "time_split": {
                "validation_seconds": round(self._validation_seconds, 2),
                "checkpoint_seconds": round(getattr(trainer.strategy.checkpoint_io, "save_seconds", 0.0), 2),
                "checkpoint_background": bool(getattr(trainer.strategy.checkpoint_io, "background", False)),
            },
            "log_dir": log_dir,
            "final": {k: (None if math.isnan(v) else v) for k, v in final.items()},
        }
        for callback in trainer.callbacks:
            if callback is not self and callable(getattr(callback, "summary", None)):
                summary.update(callback.summary())
        return summary

    def state_dict(self) -> dict[str, Any]:
        return {"elapsed": self._elapsed_before + (time.perf_counter() - self._start if self._start else 0.0)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._elapsed_before = float(state_dict.get("elapsed", 0.0))


def format_summary(summary: dict[str, Any], path: Path, places: list[str]) -> str:
    """The printed summary: steps, time, baseline, the main metrics, the plateau, and ``places`` (where the
    run's metrics, text and figures are, one line each)."""
    final = summary["final"]
    split = summary.get("time_split", {})
    ended = "interrupted (SIGTERM)" if summary.get("status") == STATUS_INTERRUPTED else "finished"
    lines = [
        f"\nfactdyn run {ended}: {summary['steps']} steps, N = {summary['n_individuals']}, "
        f"{summary['wall_seconds']:.0f} s (evaluation {split.get('validation_seconds', 0):.0f} s, "
        f"checkpoint writing {split.get('checkpoint_seconds', 0):.0f} s"
        f"{' in the background' if split.get('checkpoint_background') else ''})",
        f"  no-knowledge baseline      {summary['baseline_attr_loss']:.3f} nats",
    ]
    shown = ("val", "ft_old", "ft_new", "unseen")
    for tag in [f"{p}/{m}" for p in shown for m in ("attr_loss", "attr_acc")] + ["train/loss"]:
        if final.get(tag) is not None:
            lines.append(f"  {tag:<26} {final[tag]:.4f}")
    if "plateau" in summary:
        p = summary["plateau"]
        lines.append(f"  plateau                    start {p.get('start_step')} -> end {p.get('end_step')}")
    lines.append(f"  summary: {path}")
    lines += [f"  {place}" for place in places]
    return "\n".join(lines)
