"""The report's figures of the learning phases and their scaling: ``curves.png`` (Fig. 2 left/middle),
``plateau_vs_n.png`` (Fig. 2 right) and ``heatmaps.png`` (Fig. 4 left/middle).

Each ``plot_*`` writes its PNG to ``path`` and returns whether it drew (``False``: none of its runs exist).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from factdyn.analysis.fits import PAPER_PLATEAU_FIT, PowerLaw
from factdyn.analysis.report.aggregates import mean_curve
from factdyn.analysis.report.plotting import annotated_heatmap, colours, pyplot, save_figure
from factdyn.analysis.report.run_info import RunInfo, sorted_groups


def plot_curves(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    """Attribute loss (log) and accuracy vs steps per group, mean ± std over seeds, baseline dashed."""
    runs = [i for i in infos if i.curve("val/attr_loss") is not None]
    if not runs:
        return False
    plt = pyplot()
    groups = sorted_groups(runs, keys)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for (name, members), colour in zip(groups, colours(len(groups)), strict=True):
        seeds = f" ({len(members)} seeds)" if len(members) > 1 else ""
        for ax, tag in ((ax_loss, "val/attr_loss"), (ax_acc, "val/attr_acc")):
            curve = mean_curve(members, tag)
            if curve is None:
                continue
            steps, mean, std = curve
            ax.plot(steps, mean, color=colour, label=name + seeds)
            if len(members) > 1:
                ax.fill_between(steps, mean - std, mean + std, color=colour, alpha=0.2)
    baselines = {round(b, 4) for b in (i.baseline for i in runs) if b is not None}
    for b in sorted(baselines):
        ax_loss.axhline(b, color="grey", ls="--", lw=1, label=f"no-knowledge baseline {b:.2f}")
    ax_loss.set(yscale="log", xlabel="training step", ylabel="attribute loss (nats, held-out templates)")
    ax_loss.set_title("Attribute loss (Fig. 2 left)")
    ax_acc.set(xlabel="training step", ylabel="attribute accuracy", ylim=(-0.02, 1.02))
    ax_acc.set_title("Attribute accuracy (Fig. 2 middle)")
    ax_loss.legend(fontsize=7)
    ax_acc.legend(fontsize=7)
    save_figure(fig, path)
    return True


def plot_plateau_vs_n(fits: dict[str, tuple[PowerLaw, dict[int, list[int]]]], path: Path) -> bool:
    """Plateau end vs N (log–log) per group with its fitted power law and the paper's."""
    if not fits:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    all_n = sorted({n for _, by_n in fits.values() for n in by_n})
    for (name, (fit, by_n)), colour in zip(fits.items(), colours(len(fits)), strict=True):
        ns = np.asarray(sorted(by_n))
        for n in ns:
            ax.scatter([n] * len(by_n[n]), by_n[n], color=colour, s=12, alpha=0.5)
        ax.scatter(ns, [np.mean(by_n[n]) for n in ns], color=colour, s=40, zorder=3)
        grid = np.geomspace(ns.min(), ns.max(), 50)
        prefix = f"{name}: " if len(fits) > 1 else ""
        ax.plot(grid, fit(grid), color=colour, label=f"{prefix}fit {fit.describe()}")
    a, b, r2 = PAPER_PLATEAU_FIT
    grid = np.geomspace(min(all_n), max(all_n), 50)
    ax.plot(grid, a * grid**b, color="grey", ls=":", label=f"paper: {a}·N^{b} (R² = {r2})")
    ax.set(xscale="log", yscale="log", xlabel="number of individuals N", ylabel="plateau end (steps)")
    ax.set_title("Plateau end vs population size (Fig. 2 right)")
    ax.legend(fontsize=7)
    save_figure(fig, path)
    return True


def plot_heatmaps(tables: dict[str, tuple[list, list, np.ndarray]], path: Path) -> bool:
    """The grids of :func:`~factdyn.analysis.report.aggregates.heatmap_tables`, one panel each."""
    if not tables:
        return False
    plt = pyplot()
    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 4.2), squeeze=False)
    for ax, (kind, (rows, cols, values)) in zip(axes[0], tables.items(), strict=True):
        if kind == "plateau_end":
            image = annotated_heatmap(
                ax, fig, rows, cols, values, "Plateau end (steps) (Fig. 4 left)", "power-law exponent α",
                "number of individuals N", lambda v: f"{v:.0f}",
            )  # fmt: skip
            fig.colorbar(image, ax=ax, label="plateau end (steps)")
        else:
            image = annotated_heatmap(
                ax, fig, rows, cols, values, "Best α for final attribute loss (Fig. 4 middle)",
                "training steps", "number of individuals N", lambda v: f"{v:g}",
            )  # fmt: skip
            fig.colorbar(image, ax=ax, label="best α")
    save_figure(fig, path)
    return True
