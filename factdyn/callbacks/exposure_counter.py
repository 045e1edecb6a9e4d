"""Exposure counting: how many training biographies each individual has had, and which sampler chose them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_only

from factdyn.callbacks.media import log_histogram
from factdyn.callbacks.quiet import quiet, run_dir_to_write
from factdyn.callbacks.setup_checks import check_at_setup
from factdyn.checks import ConfigError, require_relative_path
from factdyn.run_layout import EXPOSURES, SAMPLER


def exposure_stats(counts: np.ndarray) -> dict[str, float]:
    """Mean exposures of the rarest and most frequent decile of individuals, and the extremes."""
    if len(counts) == 0:
        return {}
    ordered = np.sort(counts)
    decile = max(1, len(ordered) // 10)
    return {
        "min": float(ordered[0]),
        "max": float(ordered[-1]),
        "mean": float(ordered.mean()),
        "rarest_decile": float(ordered[:decile].mean()),
        "top_decile": float(ordered[-decile:].mean()),
        "never_seen_fraction": float((ordered == 0).mean()),
    }


class ExposureCounter(Callback):
    """Counts training exposures per individual (all ranks together) and records the sampler in the run.

    Reads ``batch["individual"]`` (indices into the training index space, see ``data.train_roles``) after each
    training batch and gathers it across DDP ranks, so every rank holds the same global counts and the
    counts in a checkpoint are complete. At fit start it writes ``sampler.json`` (the sampler's
    ``describe()``); at every evaluation it logs ``exposures/{min,max,mean,rarest_decile,top_decile,
    never_seen_fraction}`` and a TensorBoard histogram ``exposures/per_individual``; at the end of fit it
    writes ``exposures.csv`` (individual, exposures, and the sampler's per-individual annotations: bucket,
    Zipf rank and probability, ...). Its ``summary()`` adds ``sampler`` and ``exposures`` to ``summary.json``.

    Args:
        filename: exposure table written into the run directory.
        histogram: log the per-individual histogram at each evaluation.
    """

    def __init__(self, filename: str = EXPOSURES, histogram: bool = True) -> None:
        require_relative_path("exposures.filename", filename, "the run directory")
        self.filename = filename
        self.histogram = histogram
        self._counts = np.zeros(0, dtype=np.int64)
        self._pending: torch.Tensor | None = None
        self._sampler: Any = None

    @property
    def counts(self) -> np.ndarray:
        """Exposures per individual so far (folds in the counts still held on the device)."""
        if self._pending is not None:
            self._counts = self._counts + self._pending.cpu().numpy()
            self._pending = None
        return self._counts

    def check_setup(self, stage: str, datamodule: Any, pl_module: Any, callbacks: Any) -> None:
        """The DataModule has a sampler to count for."""
        if getattr(datamodule, "sampler", None) is None:
            found = type(datamodule).__name__
            raise ConfigError("data", "a DataModule with a public `sampler` (for ExposureCounter)", found)

    def metric_names(self, datamodule: Any) -> list[str]:
        """What this callback logs: ``exposures/<statistic>``."""
        return [f"exposures/{key}" for key in exposure_stats(np.zeros(1))]

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        check_at_setup(self, trainer, pl_module, stage)
        sampler = trainer.datamodule.sampler
        self._sampler = sampler
        if len(self.counts) != sampler.n_individuals:
            self._counts = np.zeros(sampler.n_individuals, dtype=np.int64)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        run_dir = run_dir_to_write(trainer)
        if run_dir is None:
            return
        path = run_dir / SAMPLER
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self._sampler.describe(), indent=2, sort_keys=True))

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        individuals = batch["individual"]
        if trainer.world_size > 1:
            individuals = pl_module.all_gather(individuals)
        individuals = individuals.reshape(-1)
        if self._pending is None:
            self._pending = torch.zeros(len(self._counts), dtype=torch.long, device=individuals.device)
        # Counted on the device: no host sync per step; folded into numpy when the counts are read.
        self._pending.index_add_(0, individuals, torch.ones_like(individuals))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if quiet(trainer, fitting_only=True):
            return
        # Counts are identical on every rank (gathered), so no cross-rank reduction is needed.
        for key, value in exposure_stats(self.counts).items():
            pl_module.log(f"exposures/{key}", float(value), sync_dist=False)
        if self.histogram:
            self._log_histogram(trainer)

    @rank_zero_only
    def _log_histogram(self, trainer: L.Trainer) -> None:
        if len(self.counts):
            log_histogram(trainer, "exposures/per_individual", self.counts)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        run_dir = run_dir_to_write(trainer)
        if run_dir is not None:
            self.write_table(run_dir / self.filename)

    def write_table(self, path: Path) -> None:
        """``individual,exposures[,annotations...]``, one row per individual of the training index space."""
        columns = {"individual": np.arange(len(self.counts)), "exposures": self.counts}
        columns.update(self._sampler.annotations() if self._sampler is not None else {})
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as f:
            f.write(",".join(columns) + "\n")
            rows = zip(*(c.tolist() for c in columns.values()), strict=True)
            f.writelines(",".join(_fmt(v) for v in row) + "\n" for row in rows)

    def summary(self) -> dict[str, Any]:
        return {
            "sampler": self._sampler.describe() if self._sampler is not None else None,
            "exposures": exposure_stats(self.counts),
        }

    def state_dict(self) -> dict[str, Any]:
        # A tensor, not a numpy array: LightningCLI reads checkpoints with torch.load(weights_only=True).
        return {"counts": torch.from_numpy(self.counts.copy())}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._counts = torch.as_tensor(state_dict["counts"]).numpy().astype(np.int64)
        self._pending = None


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
