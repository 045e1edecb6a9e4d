"""KnowledgePanel: when is *this* individual learned? A fixed panel of training individuals, evaluated on
their held-out templates, against their own exposure counts."""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

from factdyn.callbacks.exposure_counter import ExposureCounter
from factdyn.callbacks.media import log_figure
from factdyn.callbacks.panel_figures import log_panel_figures
from factdyn.callbacks.quiet import quiet, run_dir_to_write
from factdyn.callbacks.setup_checks import check_at_setup
from factdyn.checks import ConfigError, require, require_bool, require_int, require_relative_path
from factdyn.data.panel import PANEL_SALT, bucket_shares, draw_panel, role_names
from factdyn.dynamics.panel_table import format_rows, header, write_member
from factdyn.run_layout import PANEL

PANEL_SPLIT = "panel"
"""The ``split`` of the panel's batches (they never reach the module's evaluation metrics)."""


class KnowledgePanel(Callback):
    """Follows ``size`` training individuals: at every ``every_n_evaluations``-th evaluation (and the last
    one of the run), whether each of their attribute values is known (argmax on every token), its loss, and
    the individual's exposures so far.

    The panel is drawn once from the data seed so that every frequency bucket of the training sampler gets
    an equal share (:func:`factdyn.data.panel.draw_panel`; all individuals when the run trains on fewer),
    over the whole training index space: in a fine-tuning run both the new individuals and the replayed
    pre-training ones (the ``role`` column tells them apart; their exposures count this run only). Each is
    evaluated on one fixed biography on held-out templates, through the module's
    ``value_outcomes`` (the computation of ``val/attr_loss`` and ``val/attr_acc``); exposures are the
    :class:`ExposureCounter`'s (all ranks).

    Writes one row per (evaluation, individual) to ``filename`` in the run directory (format:
    :mod:`factdyn.dynamics.panel_table`). The rows are also kept in the callback's state, so a resumed run
    rewrites the file from its checkpoint at fit start and continues it: the rows come out as an
    uninterrupted run's, whatever the interrupted process had written after its checkpoint. Logs
    ``panel/known_fraction`` (of the panel's facts), ``panel/attr_loss`` and, for a sampler with buckets,
    ``panel/known_fraction/bucket_<k>``; with ``log_figures``, TensorBoard figures of P(known | exposures)
    and of the exposures at which facts became known for good (:mod:`factdyn.callbacks.panel_figures`), at
    every ``figure_every_n``-th panel evaluation and at the end of fit.

    Under DDP every rank evaluates the whole panel (the same weights and batches give the same values, as
    for the other fixed evaluation sets) and rank zero writes; the work is not split between ranks.

    Args:
        size: individuals on the panel (0: no panel).
        every_n_evaluations: evaluate the panel at every n-th evaluation of the run.
        filename: the panel file in the run directory.
        log_figures: log the figures (needs matplotlib, the ``analysis`` extra; skipped if absent).
        figure_every_n: log the figures at every n-th panel evaluation (and at the end of fit).
    """

    def __init__(
        self,
        size: int = 0,
        every_n_evaluations: int = 1,
        filename: str = PANEL,
        log_figures: bool = True,
        figure_every_n: int = 10,
    ) -> None:
        super().__init__()
        require_int("KnowledgePanel.size", size, 0)
        require_int("KnowledgePanel.every_n_evaluations", every_n_evaluations, 1)
        require_int("KnowledgePanel.figure_every_n", figure_every_n, 1)
        require_relative_path("KnowledgePanel.filename", filename, "the run directory")
        require_bool("KnowledgePanel.log_figures", log_figures)
        self.size = size
        self.every_n_evaluations = every_n_evaluations
        self.filename = filename
        self.log_figures = log_figures
        self.figure_every_n = figure_every_n
        self.n_evaluations = 0
        self.individuals = np.zeros(0, dtype=np.int64)
        self.roles = np.zeros(0, dtype=str)
        self.buckets = np.zeros(0, dtype=np.int64)
        self.attributes: tuple[str, ...] = ()
        self.steps: list[int] = []
        self.exposures: list[np.ndarray] = []
        self.known: list[np.ndarray] = []
        self.loss: list[np.ndarray] = []
        self._figure_step: int | None = None
        self._batches: list[dict[str, Any]] = []
        self._counter: ExposureCounter | None = None
        self._fitting = False

    # --- set-up -------------------------------------------------------------------------------------------
    def check_setup(self, stage: str, datamodule: Any, pl_module: Any, callbacks: Any) -> None:
        """With a panel: a DataModule with a sampler and held-out batches, a module with
        ``value_outcomes``, and an :class:`ExposureCounter` among the callbacks."""
        if not self.size or stage != "fit":
            return
        if not callable(getattr(datamodule, "heldout_batches", None)) or not hasattr(datamodule, "sampler"):
            found = type(datamodule).__name__
            raise ConfigError("data", "a BiographyDataModule (for KnowledgePanel)", found)
        require(
            callable(getattr(pl_module, "value_outcomes", None)),
            "model",
            "a module with value_outcomes(batch), such as FactLearner (for KnowledgePanel)",
            type(pl_module).__name__,
        )
        require(
            any(isinstance(c, ExposureCounter) for c in callbacks or ()),
            "trainer.callbacks",
            "an ExposureCounter beside KnowledgePanel (it counts the exposures the panel records)",
            [type(c).__name__ for c in callbacks or ()],
        )

    def metric_names(self, datamodule: Any) -> list[str]:
        """What this callback logs: ``panel/known_fraction``, ``panel/attr_loss`` and, when the panel spans
        several of the sampler's buckets, one known fraction per bucket it holds."""
        if not self.size:
            return []
        sampler = getattr(datamodule, "sampler", None)
        buckets = sampler.buckets() if sampler is not None else None
        held = [] if buckets is None else panel_buckets(buckets, self.size)
        return [
            "panel/known_fraction",
            "panel/attr_loss",
            *(f"panel/known_fraction/bucket_{k}" for k in held),
        ]

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        check_at_setup(self, trainer, pl_module, stage)
        self._fitting = stage == "fit"
        if not self.size or not self._fitting:
            return
        self.prepare(trainer.datamodule)
        self._counter = next(c for c in trainer.callbacks if isinstance(c, ExposureCounter))

    def prepare(self, datamodule: Any) -> None:
        """Draw the panel from the set-up DataModule's sampler and seed, and build its fixed batches."""
        sampler = datamodule.sampler
        buckets = sampler.buckets()
        self.individuals = draw_panel(sampler.n_individuals, self.size, buckets, datamodule.seed)
        self.roles = role_names(sampler.roles, self.individuals)
        self.buckets = np.zeros_like(self.individuals) if buckets is None else buckets[self.individuals]
        self.attributes = tuple(datamodule.attributes)
        # One fixed biography per panel individual, its own seed (not the panel draw's).
        self._batches = datamodule.heldout_batches(PANEL_SPLIT, self.individuals, salt=PANEL_SALT + 1)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Write the file from the state: the header for a new run; for a resumed one, its checkpoint's rows
        (dropping whatever the interrupted process wrote after it)."""
        if not self.size:
            return
        run_dir = run_dir_to_write(trainer)
        if run_dir is None:
            return
        path = run_dir / self.filename
        write_member(path, header(self.attributes), append=False)
        for e in range(len(self.steps)):
            write_member(path, self._rows(e), append=True)

    # --- evaluation ---------------------------------------------------------------------------------------
    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.size or quiet(trainer, fitting_only=True):
            return
        self.n_evaluations += 1
        last = trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps
        if self.n_evaluations % self.every_n_evaluations and not last:
            return
        known, loss = self.evaluate(pl_module)
        self.steps.append(int(trainer.global_step))
        self.exposures.append(self._counter.counts[self.individuals].astype(np.int64))
        self.known.append(known)
        self.loss.append(loss)
        self._log_scalars(pl_module, known, loss)
        run_dir = run_dir_to_write(trainer)
        if run_dir is not None:
            write_member(run_dir / self.filename, self._rows(len(self.steps) - 1), append=True)
        due = (len(self.steps) - 1) % self.figure_every_n == 0 or last
        if due and trainer.is_global_zero:
            self._figures(trainer)

    @torch.no_grad()
    def evaluate(self, pl_module: Any) -> tuple[np.ndarray, np.ndarray]:
        """Known flags (P, A) and value losses (P, A, float32) of the panel, rows in ``individuals`` order
        and columns in ``attributes`` order."""
        n_attr = len(self.attributes)
        known = np.zeros((len(self.individuals), n_attr), dtype=bool)
        loss = np.zeros((len(self.individuals), n_attr), dtype=np.float32)
        for batch in self._batches:
            on_device = {k: v.to(pl_module.device) if torch.is_tensor(v) else v for k, v in batch.items()}
            value_loss, value_correct, _, _ = pl_module.value_outcomes(on_device)
            # Sentence slots to attributes: each biography states each attribute once.
            rows = np.searchsorted(self.individuals, batch["individual"].numpy())[:, None]
            attr = batch["value_attr"].numpy()
            known[rows, attr] = value_correct.cpu().numpy()
            loss[rows, attr] = value_loss.float().cpu().numpy()
        return known, loss

    def _rows(self, e: int) -> str:
        return format_rows(
            self.steps[e], self.individuals, self.roles, self.buckets, self.exposures[e], self.known[e],
            self.loss[e],
        )  # fmt: skip

    def _log_scalars(self, pl_module: L.LightningModule, known: np.ndarray, loss: np.ndarray) -> None:
        # Every rank evaluated the same panel with the same weights: no reduction needed.
        pl_module.log("panel/known_fraction", float(known.mean()), sync_dist=False)
        pl_module.log("panel/attr_loss", float(loss.mean()), sync_dist=False)
        held = np.unique(self.buckets)
        if len(held) > 1:
            for k in held:
                share = float(known[self.buckets == k].mean())
                pl_module.log(f"panel/known_fraction/bucket_{k}", share, sync_dist=False)

    def _figures(self, trainer: L.Trainer) -> None:
        if not self.log_figures or self._figure_step == trainer.global_step:
            return
        try:
            logged = log_panel_figures(
                partial(log_figure, trainer),
                np.stack(self.exposures),
                np.stack(self.known),
                trainer.global_step,
            )
        except ImportError:
            warnings.warn(
                "KnowledgePanel: matplotlib is not installed (pip install 'factdyn[analysis]'); logging the "
                "panel's scalars and file only, no figures",
                stacklevel=2,
            )
            self.log_figures = False
            return
        if logged:
            self._figure_step = trainer.global_step

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.size and self.steps and trainer.is_global_zero and not trainer.fast_dev_run:
            self._figures(trainer)

    # --- summary and state --------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Section ``panel`` of ``summary.json``: size, evaluations, the last known fraction."""
        if not self.size:
            return {}
        last = float(self.known[-1].mean()) if self.known else None
        return {
            "panel": {"size": len(self.individuals), "evaluations": len(self.steps), "known_fraction": last}
        }

    def state_dict(self) -> dict[str, Any]:
        p, a = len(self.individuals), len(self.attributes)
        return {
            "n_evaluations": self.n_evaluations,
            "individuals": _tensor(self.individuals),
            "steps": _tensor(np.asarray(self.steps, dtype=np.int64)),
            "exposures": _tensor(np.stack(self.exposures) if self.steps else np.zeros((0, p), np.int64)),
            "known": _tensor(np.stack(self.known) if self.steps else np.zeros((0, p, a), bool)),
            "loss": _tensor(np.stack(self.loss) if self.steps else np.zeros((0, p, a), np.float32)),
            "figure_step": self._figure_step,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = torch.as_tensor(state_dict["individuals"]).numpy()
        # A fit continues the checkpoint's panel; validate / test (which restore callback states too) have
        # no panel to continue.
        require(
            not self._fitting or np.array_equal(saved, self.individuals),
            "panel.size",
            f"{len(saved)}, the panel of the checkpoint's run (with the same data)",
            self.size,
        )
        self.n_evaluations = int(state_dict["n_evaluations"])
        self.steps = [int(s) for s in torch.as_tensor(state_dict["steps"]).tolist()]
        self.exposures = list(torch.as_tensor(state_dict["exposures"]).numpy())
        self.known = list(torch.as_tensor(state_dict["known"]).numpy())
        self.loss = list(torch.as_tensor(state_dict["loss"]).numpy())
        self._figure_step = state_dict.get("figure_step")


def panel_buckets(buckets: np.ndarray, size: int) -> list[int]:
    """The buckets a panel of ``size`` holds individuals of, when it spans more than one (else none)."""
    labels, sizes = np.unique(buckets, return_counts=True)
    held = [int(k) for k, share in zip(labels, bucket_shares(sizes, size), strict=True) if share > 0]
    return held if len(held) > 1 else []


def _tensor(array: np.ndarray) -> torch.Tensor:
    """An array as a tensor, not a numpy array (LightningCLI reads checkpoints with
    ``torch.load(weights_only=True)``), with row-major strides even when empty: numpy gives an empty array
    zero strides, which the checkpoint's content hash cannot view as bytes."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor.new_zeros(tensor.shape) if tensor.numel() == 0 else tensor
