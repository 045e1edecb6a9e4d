"""The report's figures about individuals outside the pre-training set: ``hallucinations.png`` (unseen
individuals, Fig. M) and ``finetuning.png`` (individuals taught by fine-tuning, Fig. 5 middle/right)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from factdyn.analysis.report.aggregates import finetune_pair, mean_curve
from factdyn.analysis.report.plotting import colours, pyplot, save_figure
from factdyn.analysis.report.run_info import RunInfo, sorted_groups

SEEN_UNSEEN = (
    ("attr_loss", "attribute loss (nats)"),
    ("attr_acc", "attribute accuracy"),
    ("max_prob", "max probability"),
    ("entropy", "entropy (nats)"),
)


def plot_hallucinations(infos: Sequence[RunInfo], keys: list[str], path: Path, max_groups: int = 4) -> bool:
    """Seen vs unseen individuals: loss, accuracy, max probability, entropy vs steps (first groups)."""
    runs = [
        i for i in infos if i.curve("unseen/attr_loss") is not None and i.curve("val/attr_loss") is not None
    ]
    if not runs:
        return False
    plt = pyplot()
    groups = sorted_groups(runs, keys)[:max_groups]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    for (name, members), colour in zip(groups, colours(len(groups)), strict=True):
        for ax, (metric, ylabel) in zip(axes, SEEN_UNSEEN, strict=True):
            for split, style, word in (("val", "-", "seen"), ("unseen", "--", "unseen")):
                curve = mean_curve(members, f"{split}/{metric}")
                if curve is not None:
                    ax.plot(curve[0], curve[1], ls=style, color=colour, label=f"{word}: {name}")
            ax.set(xlabel="training step", ylabel=ylabel)
    baselines = {round(b, 4) for b in (i.baseline for i in runs) if b is not None}
    for b in sorted(baselines):
        axes[0].axhline(b, color="grey", lw=1, ls=":", label=f"baseline {b:.2f}")
    axes[0].set_yscale("log")
    axes[0].set_title("Seen vs unseen individuals (Fig. M)")
    axes[0].legend(fontsize=7)
    save_figure(fig, path)
    return True


def plot_finetuning(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    """Fine-tuning loss against pre-training loss along training, per group (log–log)."""
    runs = [i for i in infos if finetune_pair(i) is not None]
    if not runs:
        return False
    plt = pyplot()
    groups = sorted_groups(runs, keys)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for (name, members), colour in zip(groups, colours(len(groups)), strict=True):
        old, new = finetune_pair(members[0])
        x, y = mean_curve(members, old), mean_curve(members, new)
        if x is None or y is None:
            continue
        steps = np.intersect1d(x[0], y[0])
        xs = np.interp(steps, x[0], x[1])
        ys = np.interp(steps, y[0], y[1])
        ax.plot(xs, ys, color=colour, marker=".", ms=3, label=name)
        ax.scatter(xs[:1], ys[:1], color="grey", s=40, zorder=3)
    old, new = finetune_pair(runs[0])
    ax.set(
        xscale="log",
        yscale="log",
        xlabel=f"pre-training loss ({old}, nats)",
        ylabel=f"fine-tuning loss ({new}, nats)",
    )
    ax.set_title("Fine-tuning trajectories (Fig. 5 middle/right); grey: start")
    ax.legend(fontsize=7)
    save_figure(fig, path)
    return True
