"""The report's figures about individuals outside the pre-training set: ``hallucinations.png`` (unseen
individuals, Fig. 5 left and Fig. M), ``finetuning.png`` (old and new accuracy and loss vs fine-tuning
step, Fig. N) and ``finetuning_trajectories.png`` (fine-tuning loss vs pre-training loss, Fig. 5
middle/right). Every group is drawn: the hallucination figure has one row per group."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from factdyn.analysis.report.aggregates import FinetuneTags, finetune_tags
from factdyn.analysis.report.plotting import (
    band_handle,
    colours,
    legend_with,
    plain_log_ticks,
    plot_seed_curve,
    pyplot,
    save_figure,
)
from factdyn.analysis.report.run_info import RunInfo
from factdyn.analysis.report.seeds import SeedGroup, seed_groups

SEEN_UNSEEN = (
    ("attr_loss", "attribute loss (nats)"),
    ("attr_acc", "attribute accuracy"),
    ("max_prob", "max probability"),
    ("entropy", "entropy (nats)"),
)
SPLITS = (("val", "-", "seen (training individuals)"), ("unseen", "--", "unseen (held-out individuals)"))
ROW_HEIGHT = 3.1
"""Inches per group row of the hallucination figure (it grows with the groups instead of dropping any)."""


def _baselines(runs: Sequence[RunInfo]) -> list[float]:
    return sorted({round(b, 4) for b in (i.baseline for i in runs) if b is not None})


def plot_hallucinations(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    """Seen vs unseen individuals (loss with the no-knowledge baseline, accuracy, max probability,
    entropy) vs steps: one row per seed group, every group, seen and unseen overlaid in each panel."""
    runs = [
        i for i in infos if i.curve("unseen/attr_loss") is not None and i.curve("val/attr_loss") is not None
    ]
    if not runs:
        return False
    plt = pyplot()
    groups = seed_groups(runs, keys)
    # The metrics some run logged for seen or unseen individuals (loss always).
    panels = [
        (m, y)
        for m, y in SEEN_UNSEEN
        if any(r.curve(f"{s}/{m}") is not None for r in runs for s, _, _ in SPLITS)
    ]
    fig, axes = plt.subplots(
        len(groups), len(panels), figsize=(4 * len(panels), 0.6 + ROW_HEIGHT * len(groups)), squeeze=False
    )
    seen, unseen = "tab:blue", "tab:red"
    for row, group in zip(axes, groups, strict=True):
        for ax, (metric, ylabel) in zip(row, panels, strict=True):
            for (split, style, word), colour in zip(SPLITS, (seen, unseen), strict=True):
                curve = group.curve(f"{split}/{metric}")
                if curve is not None:
                    plot_seed_curve(ax, curve, colour, word, ls=style)
            ax.set(xlabel="training step", ylabel=ylabel)
        for b in _baselines(group.runs):
            row[0].axhline(b, color="grey", lw=1, ls=":", label=f"no-knowledge baseline {b:.2f}")
        row[0].set_yscale("log")
        plain_log_ticks(row[0].yaxis)
        row[0].set_title(group.label, fontsize=9, loc="left")
        legend_with(row[0], [band_handle()] if group.n > 1 else [], fontsize=7)
    fig.suptitle("Seen vs unseen individuals (Fig. 5 left, Fig. M): one row per group", fontsize=11)
    save_figure(fig, path)
    return True


def _finetune_groups(infos: Sequence[RunInfo], keys: list[str]) -> list[tuple[SeedGroup, FinetuneTags]]:
    runs = [i for i in infos if finetune_tags(i) is not None]
    return [(g, finetune_tags(g.runs[0])) for g in seed_groups(runs, keys)]


def _start_note(group: SeedGroup, tag: str) -> str:
    """``""`` when every seed logged ``tag`` at step 0 (the pre-trained model), else what the curve starts
    from instead."""
    firsts = [int(c[0][0]) for c in (r.curve(tag) for r in group.runs) if c is not None]
    if firsts and max(firsts) == 0:
        return ""
    return f" (no step-0 evaluation: from step {max(firsts)})" if firsts else ""


PANELS = (
    ("old_acc", "old (pre-training) individuals: accuracy"),
    ("new_acc", "new individuals: accuracy"),
    ("old_loss", "old (pre-training) individuals: loss"),
    ("new_loss", "new individuals: loss"),
)


def plot_finetuning(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    """Fig. N: accuracy and loss on the old and the new individuals vs fine-tuning step, per seed group; the
    point at step 0 (circled) is the pre-trained model, evaluated before any update."""
    groups = _finetune_groups(infos, keys)
    if not groups:
        return False
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    starts = 0
    for (group, tags), colour in zip(groups, colours(len(groups)), strict=True):
        label = group.label + _start_note(group, tags.old_loss)
        for ax, (field, _) in zip(axes.flat, PANELS, strict=True):
            curve = group.curve(getattr(tags, field))
            if curve is None:
                continue
            plot_seed_curve(ax, curve, colour, label if ax is axes[0, 0] else None, marker=".", ms=3)
            if curve.steps[0] == 0:
                ax.plot([0], curve.mean[:1], ls="none", marker="o", ms=8, mfc="none", mec="black",
                        zorder=5, gid="pretrained")  # fmt: skip
                starts += 1
    tags = groups[0][1]
    for ax, (field, title) in zip(axes.flat, PANELS, strict=True):
        ax.set(xlabel="fine-tuning step", ylabel=getattr(tags, field), title=title)
        if field.endswith("acc"):
            ax.set_ylim(-0.02, 1.02)
        else:
            ax.set_yscale("log")
            plain_log_ticks(ax.yaxis)
            for b in _baselines([r for g, _ in groups for r in g.runs]):
                ax.axhline(b, color="grey", lw=1, ls=":")
    extra = [band_handle()] if any(g.n > 1 for g, _ in groups) else []
    if starts:
        from matplotlib.lines import Line2D

        extra.append(Line2D([], [], ls="none", marker="o", mfc="none", mec="black",
                            label="step 0: the pre-trained model"))  # fmt: skip
    legend_with(axes[0, 0], extra, fontsize=7)
    fig.suptitle("Fine-tuning on new individuals (Fig. N); grey dotted: no-knowledge baseline", fontsize=11)
    save_figure(fig, path)
    return True


def plot_finetuning_trajectories(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    """Fig. 5 middle/right: fine-tuning loss against pre-training loss along fine-tuning (log–log), per seed
    group (mean over seeds); the grey dot is step 0, the pre-trained model."""
    groups = _finetune_groups(infos, keys)
    if not groups:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for (group, tags), colour in zip(groups, colours(len(groups)), strict=True):
        x, y = group.curve(tags.old_loss), group.curve(tags.new_loss)
        if x is None or y is None:
            continue
        steps = np.intersect1d(x.steps, y.steps)
        xs, ys = np.interp(steps, x.steps, x.mean), np.interp(steps, y.steps, y.mean)
        ax.plot(xs, ys, color=colour, marker=".", ms=3, label=group.label + _start_note(group, tags.old_loss))
        if len(steps) and steps[0] == 0:
            ax.scatter(xs[:1], ys[:1], color="grey", s=45, zorder=3, gid="pretrained")
    tags = groups[0][1]
    ax.set(xscale="log", yscale="log", xlabel=f"pre-training individuals' loss ({tags.old_loss}, nats)",
           ylabel=f"new individuals' loss ({tags.new_loss}, nats)")  # fmt: skip
    ax.set_title("Fine-tuning trajectories (Fig. 5 middle/right)\ngrey dot: step 0, the pre-trained model",
                 fontsize=10)  # fmt: skip
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    ax.legend(fontsize=7)
    save_figure(fig, path)
    return True
