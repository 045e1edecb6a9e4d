"""TensorBoardLayout: the paper's panels in TensorBoard's CUSTOM SCALARS tab, written once per run.

The SCALARS tab draws one chart per tag; the paper's figures overlay several (held-out, unseen and the
no-knowledge baseline on one loss chart, Fig. 2 and 5). A custom-scalars layout names such overlays.
:func:`paper_layout` builds it from the tags the run logs, so a chart with nothing to draw (no attention
statistics, a uniform sampler's empty bucket charts) is left out, and so is a category left empty.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

import lightning as L
from lightning.pytorch.callbacks import Callback

from factdyn.callbacks.quiet import quiet
from factdyn.callbacks.tensorboard_run import run_tags, split_prefixes, tensorboard_loggers
from factdyn.interp.attention_statistics import FRACTIONS, layer_tag, tagged_layers

Layout = dict[str, dict[str, list[str]]]
"""Category -> chart title -> the tags the chart overlays (exact names)."""

BUCKET = re.compile(r".*/bucket_(\d+)")


def paper_layout(tags: Collection[str], prefixes: Mapping[str, str]) -> Layout:
    """The panels of the paper that ``tags`` can fill, in reading order; ``prefixes`` maps each evaluation
    set (``val``, ``unseen``, ``new``) to the prefix of its tags."""
    sets = [prefixes[s] for s in ("val", "unseen", "new") if s in prefixes]
    held_out = prefixes.get("val", "val")
    unseen = prefixes.get("unseen", "unseen")
    layers = tagged_layers(tags)
    wanted: Layout = {
        "attribute loss (paper Fig. 2, 5)": {
            "held-out, unseen and no-knowledge baseline (nats per value)": [
                *(f"{p}/attr_loss" for p in sets),
                "baseline/attr_loss",
            ],
            "training vs held-out templates (nats per value)": ["train/attr_loss", f"{held_out}/attr_loss"],
            "hallucination gap: unseen minus baseline (nats per value)": [f"{unseen}/hallucination_gap"],
        },
        "accuracy and confidence": {
            "attribute accuracy": [f"{p}/attr_acc" for p in sets],
            "knowledge panel: share of known facts": [
                "panel/known_fraction",
                *_buckets(tags, "panel/known_fraction/"),
            ],
            "max probability of the value tokens": [f"{p}/max_prob" for p in sets],
            "predictive entropy of the value tokens (nats)": [f"{p}/entropy" for p in sets],
        },
        "held-out, by attribute type": {
            "attribute loss (nats per value)": _per_attribute(tags, f"{held_out}/attr_loss/"),
            "attribute accuracy": _per_attribute(tags, f"{held_out}/attr_acc/"),
        },
        "held-out, by frequency bucket (paper Fig. 4)": {
            "attribute loss (nats per value)": _buckets(tags, f"{held_out}/attr_loss/"),
            "attribute accuracy": _buckets(tags, f"{held_out}/attr_acc/"),
        },
        "attention circuits (paper Fig. 3, F)": {
            **{
                f"layer {layer}: share of attention": [layer_tag(m, layer) for m in FRACTIONS]
                for layer in layers
            },
            "normalised entropy (entropy / log t), by layer": [
                layer_tag("entropy", layer) for layer in layers
            ],
        },
        "exposures per individual": {
            "exposures (count)": [
                f"exposures/{s}" for s in ("min", "rarest_decile", "mean", "top_decile", "max")
            ],
            "never-seen fraction": ["exposures/never_seen_fraction"],
        },
        "training": {
            "learning rate": ["train/lr"],
            "next-token loss (nats per token)": ["train/loss"],
            "replay fraction": ["replay/fraction", "replay/expected_fraction"],
        },
    }
    layout: Layout = {}
    for category, charts in wanted.items():
        kept = {title: [t for t in chart if t in tags] for title, chart in charts.items()}
        kept = {title: chart for title, chart in kept.items() if chart}
        if kept:
            layout[category] = kept
    return layout


def _per_attribute(tags: Collection[str], prefix: str) -> list[str]:
    return sorted(t for t in tags if t.startswith(prefix) and not BUCKET.fullmatch(t))


def _buckets(tags: Collection[str], prefix: str) -> list[str]:
    found = [t for t in tags if t.startswith(prefix) and BUCKET.fullmatch(t)]
    return sorted(found, key=lambda t: int(BUCKET.fullmatch(t).group(1)))  # type: ignore[union-attr]


def multiline_layout(layout: Layout) -> dict[str, dict[str, list]]:
    """``layout`` as ``SummaryWriter.add_custom_scalars`` takes it: each chart a multiline chart whose tags
    are regular expressions, here anchored so that each matches its one tag."""
    return {
        category: {
            title: ["Multiline", [f"^{re.escape(t)}$" for t in tags]] for title, tags in charts.items()
        }
        for category, charts in layout.items()
    }


class TensorBoardLayout(Callback):
    """Writes :func:`paper_layout` for the run's tags into every TensorBoard logger, at the start of ``fit``,
    from rank zero: TensorBoard's CUSTOM SCALARS tab then shows the paper's panels (loss against the
    baseline, accuracy, attention circuits per layer, exposures, learning rate).

    A resumed run writes it again into its new event file; TensorBoard merges the copies.
    """

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if quiet(trainer, fitting_only=True) or not trainer.is_global_zero:
            return
        loggers = tensorboard_loggers(trainer)
        if not loggers:
            return
        layout = multiline_layout(
            paper_layout(run_tags(trainer, pl_module), split_prefixes(trainer, pl_module))
        )
        if layout:
            for logger in loggers:
                logger.experiment.add_custom_scalars(layout)
