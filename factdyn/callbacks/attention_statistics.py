"""Per-layer attention statistics of the recall circuit on a fixed batch (paper Fig. 3 right and Fig. F)."""

from __future__ import annotations

import warnings
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

from factdyn.callbacks.media import log_figure
from factdyn.callbacks.quiet import quiet
from factdyn.callbacks.setup_checks import check_at_setup
from factdyn.checks import ConfigError, require_int
from factdyn.data.batches import to_torch
from factdyn.interp.attention_statistics import FRACTIONS, METRICS, attention_statistic_sums, layer_tag
from factdyn.model.hooks import require_pattern_hooks, run_with_patterns

SPAN_KEYS = ("name_start", "name_len", "value_start", "value_len")


class AttentionStatistics(Callback):
    """Logs ``attn/<metric>/layer_<l>`` (metrics of
    :mod:`factdyn.interp.attention_statistics`) and a figure of two layer heatmaps (attention shares, and
    the normalised entropy on a scale of its own).

    At the end of every ``every_n_evals``-th validation, the model's own attention (explicit-softmax path,
    recorded through the public ``hook_pattern`` points) is measured on a fixed batch of ``n_sequences``
    biographies of training individuals on held-out templates, drawn once from the DataModule's
    populations with a seed derived from the data seed, so every run and every step sees the same batch.
    Layers are 0-based, as the hook points (``layer_0`` is the paper's layer 1).

    Args:
        n_sequences: sequences in the fixed batch (paper: 512).
        every_n_evals: measure at every n-th validation.
        batch_size: sequences per forward pass (bounds the memory of the recorded patterns).
        log_figure: also log the heatmap figure (needs matplotlib, the ``analysis`` extra).
    """

    def __init__(
        self, n_sequences: int = 512, every_n_evals: int = 1, batch_size: int = 64, log_figure: bool = True
    ) -> None:
        for field, value in (
            ("n_sequences", n_sequences),
            ("every_n_evals", every_n_evals),
            ("batch_size", batch_size),
        ):
            require_int(f"AttentionStatistics.{field}", value, 1)
        self.n_sequences = n_sequences
        self.every_n_evals = every_n_evals
        self.batch_size = batch_size
        self.log_figure = log_figure
        self.n_evals = 0
        self.last: dict[str, list[float]] = {}
        self._batch: dict[str, torch.Tensor] | None = None

    def fixed_batch(self, datamodule: Any) -> dict[str, torch.Tensor]:
        """The fixed batch: training individuals on evaluation templates, seeded by the data seed."""
        if self._batch is None:
            if not hasattr(datamodule, "assembler") or "train" not in getattr(datamodule, "populations", {}):
                raise ConfigError(
                    "data",
                    "a set-up BiographyDataModule (for AttentionStatistics)",
                    type(datamodule).__name__,
                )
            population = datamodule.populations["train"]
            rng = np.random.default_rng([datamodule.seed, 20_000])
            individuals = rng.integers(0, len(population), size=self.n_sequences)
            self._batch = to_torch(datamodule.assembler.assemble(population, individuals, rng, split="eval"))
        return self._batch

    def check_setup(self, stage: str, datamodule: Any, pl_module: Any, callbacks: Any) -> None:
        """A model with attention (not ``sequence_mixer: hawk``), refused before training, not at an eval."""
        require_pattern_hooks(getattr(pl_module, "model", pl_module), "AttentionStatistics")

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        check_at_setup(self, trainer, pl_module, stage)

    @torch.no_grad()
    def measure(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, list[float]]:
        """Metric -> per-layer means over the whole batch, pooled over chunks of ``batch_size``."""
        require_pattern_hooks(model, "AttentionStatistics")
        device = next(model.parameters()).device
        sums: dict[str, torch.Tensor] = {}
        counts: dict[str, torch.Tensor] = {}
        tokens = batch["tokens"]
        for i in range(0, tokens.shape[0], self.batch_size):
            rows = slice(i, i + self.batch_size)
            length = int((tokens[rows] != 0).sum(1).max())
            inputs = tokens[rows, : length - 1].to(device)
            _, patterns = run_with_patterns(model, inputs)
            spans = {k: batch[k][rows].to(device) for k in SPAN_KEYS}
            s, c = attention_statistic_sums(patterns, inputs, **spans)
            for m in METRICS:
                sums[m] = sums.get(m, 0) + s[m].cpu()
                counts[m] = counts.get(m, 0) + c[m].cpu()
        return {m: (sums[m] / counts[m]).tolist() for m in METRICS}

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if quiet(trainer):
            return
        self.n_evals += 1
        if (self.n_evals - 1) % self.every_n_evals:
            return
        model = pl_module.model
        was_training = model.training
        model.eval()
        try:
            stats = self.measure(model, self.fixed_batch(trainer.datamodule))
        finally:
            model.train(was_training)
        self.last = stats
        for metric, values in stats.items():
            for layer, value in enumerate(values):
                pl_module.log(layer_tag(metric, layer), float(value), add_dataloader_idx=False)
        if self.log_figure and trainer.is_global_zero:
            self._log_heatmap(trainer, stats)

    def _log_heatmap(self, trainer: L.Trainer, stats: dict[str, list[float]]) -> None:
        try:
            from matplotlib.figure import Figure
        except ImportError:
            warnings.warn(
                "AttentionStatistics: matplotlib is not installed (pip install 'factdyn[analysis]'); "
                "logging scalars only, no heatmap",
                stacklevel=2,
            )
            self.log_figure = False
            return
        figure = heatmap_figure(Figure, stats, trainer.global_step)
        log_figure(trainer, "attn/heatmap", figure)

    def summary(self) -> dict[str, Any]:
        """Section ``attention_statistics`` of ``summary.json``: the last measurement, per layer."""
        return {"attention_statistics": self.last} if self.last else {}

    def state_dict(self) -> dict[str, Any]:
        return {"n_evals": self.n_evals}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.n_evals = int(state_dict.get("n_evals", 0))


def heatmap_figure(figure_class: Any, stats: dict[str, list[float]], step: int) -> Any:
    """Two layer heatmaps with the values written in, each with its own labelled colour scale: the shares
    of attention mass (name → name, attribute → name, attribute → text) and the normalised entropy
    (entropy / log t). Both lie in [0, 1], but they are different quantities, so they do not share a
    colour bar (or a colour map).

    Built on ``matplotlib.figure.Figure`` (passed in, so matplotlib stays an optional import) rather than
    pyplot: no global backend or figure registry is touched during training.
    """
    panels = [
        ([m for m in FRACTIONS if m in stats], "share of attention", "viridis"),
        ([m for m in stats if m not in FRACTIONS], "entropy / log t", "magma"),
    ]
    panels = [panel for panel in panels if panel[0]]
    n_layer = len(next(iter(stats.values())))
    widths = [len(metrics) for metrics, _, _ in panels]
    figure = figure_class(figsize=(1.6 * sum(widths) + 2.5 * len(panels), 0.5 * n_layer + 1.8))
    axes = figure.subplots(1, len(panels), squeeze=False, gridspec_kw={"width_ratios": widths})[0]
    for ax, (metrics, label, cmap) in zip(axes, panels, strict=True):
        values = np.array([stats[m] for m in metrics]).T  # (n_layer, n_metrics)
        image = ax.imshow(values, vmin=0.0, vmax=1.0, cmap=cmap, aspect="auto")
        ax.set_xticks(range(len(metrics)), [m.replace("_", " ") for m in metrics])
        ax.set_yticks(range(n_layer), [f"layer {i}" for i in range(n_layer)])
        for (i, j), v in np.ndenumerate(values):
            ax.text(
                j, i, f"{v:.2f}", ha="center", va="center", color="white" if v < 0.6 else "black", fontsize=8
            )
        figure.colorbar(image, ax=ax, label=label)
    figure.suptitle(f"attention statistics, step {step}")
    figure.tight_layout()
    return figure
