"""The report's figure of a run's evaluations from its checkpoints: ``evaluations.png``.

``factdyn validate`` / ``test`` of a run's checkpoints (``eval/evaluations.jsonl``, e.g. a fixed-order run
measured on shuffled biographies) against the run's own evaluation during training, on one chart per
measure: the same colour per group, a solid line for the run's own curve and another line style per
evaluation, each the mean over the group's seeds with the band shaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
from factdyn.analysis.report.seeds import seed_groups

TAGS = (
    ("val/attr_loss", "attribute loss (nats, held-out templates)"),
    ("val/attr_acc", "attribute accuracy"),
)
STYLES = ("--", ":", "-.")
"""Line styles of the evaluations, in name order (the run's own curve is solid)."""


def evaluation_names(infos: Sequence[RunInfo]) -> list[str]:
    """Every evaluation name the runs recorded, sorted."""
    return sorted({str(r["evaluation"]) for info in infos for r in info.evaluations if "evaluation" in r})


def plot_evaluations(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    """Each group's own ``val/attr_loss`` and ``val/attr_acc`` against its checkpoints' evaluations;
    ``False`` when no run has any."""
    names = evaluation_names(infos)[: len(STYLES)]
    if not names:
        return False
    from matplotlib.lines import Line2D

    plt = pyplot()
    groups = seed_groups([i for i in infos if i.evaluations], keys)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    for group, colour in zip(groups, colours(len(groups)), strict=True):
        for ax, (tag, _) in zip(axes, TAGS, strict=True):
            own = group.curve(tag)
            if own is not None:
                plot_seed_curve(ax, own, colour, group.label if ax is axes[0] else None)
            for name, style in zip(names, STYLES, strict=False):
                curve = group.curve(tag, evaluation=name)
                if curve is not None:
                    plot_seed_curve(ax, curve, colour, None, ls=style, marker=".", ms=4, gid=name)
    baselines = {round(b, 4) for b in (i.baseline for g in groups for i in g.runs) if b is not None}
    for b in sorted(baselines):
        axes[0].axhline(b, color="grey", lw=1, ls=(0, (1, 3)), label=f"no-knowledge baseline {b:.2f}")
    axes[0].set(yscale="log", xlabel="training step", ylabel=TAGS[0][1])
    plain_log_ticks(axes[0].yaxis)
    axes[1].set(xlabel="training step", ylabel=TAGS[1][1], ylim=(-0.02, 1.02))
    axes[0].set_title("Attribute loss: the run's own evaluation and its checkpoints'")
    axes[1].set_title("Attribute accuracy")
    styles = [Line2D([], [], color="black", ls="-", label="the run's own evaluation (solid)")]
    styles += [
        Line2D([], [], color="black", ls=s, marker=".", label=n) for n, s in zip(names, STYLES, strict=False)
    ]
    extra = styles + ([band_handle()] if any(g.n > 1 for g in groups) else [])
    legend_with(axes[0], extra, fontsize=7)
    save_figure(fig, path)
    return True
