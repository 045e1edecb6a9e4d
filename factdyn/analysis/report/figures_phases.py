"""The report's figures of the learning phases and their scaling: ``curves.png`` (Fig. 2 left/middle),
``plateau_vs_n.png`` (Fig. 2 right) and ``heatmaps.png`` (Fig. 4 left/middle).

Each ``plot_*`` writes its PNG to ``path`` and returns whether it drew (``False``: none of its runs exist).
Curves are the mean over a group's seeds with the :data:`~.seeds.BAND` shaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from factdyn.analysis.fits import (
    PAPER_BATCH_SIZE,
    PAPER_PLATEAU_FIT,
    PAPER_PLATEAU_N_RANGE,
    paper_plateau_exposures,
)
from factdyn.analysis.report.plateau_fit import PlateauFit
from factdyn.analysis.report.plotting import (
    annotated_heatmap,
    band_handle,
    colours,
    legend_with,
    plain_log_ticks,
    plot_seed_curve,
    pyplot,
    save_figure,
)
from factdyn.analysis.report.run_info import RunInfo
from factdyn.analysis.report.seeds import SeedCurve, SeedGroup, seed_groups

PHASE_MARKERS = (
    ("start_step", "plateau_start", ">", "plateau start"),
    ("end_step", "plateau_end", "s", "plateau end"),
)
"""(RunPhases field, artist gid, marker, legend text) of the phase boundaries marked on the curves."""


def mark_phases(ax, group: SeedGroup, curve: SeedCurve, colour: Any) -> int:
    """Each seed's detected plateau start and end (``run_phases``) as markers on the group's mean curve;
    returns how many it drew. The markers carry ``gid`` ``plateau_start`` / ``plateau_end``."""
    drawn = 0
    for field, gid, marker, _ in PHASE_MARKERS:
        steps = [getattr(r.phases, field) for r in group.runs if r.phases is not None]
        steps = [s for s in steps if s is not None and curve.steps[0] <= s <= curve.steps[-1]]
        if steps:
            values = [curve.at(s) for s in steps]
            ax.plot(steps, values, ls="none", marker=marker, ms=6, mfc="white", mec=colour, mew=1.3,
                    zorder=4, gid=gid)  # fmt: skip
            drawn += len(steps)
    return drawn


def phase_handles() -> list[Any]:
    """Legend entries for :func:`mark_phases`' markers."""
    from matplotlib.lines import Line2D

    return [
        Line2D([], [], ls="none", marker=m, mfc="white", mec="black", label=f"{text} (each seed)")
        for _, _, m, text in PHASE_MARKERS
    ]


def plot_curves(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    """Attribute loss (log) and accuracy vs steps per seed group, mean and band over seeds, each seed's
    plateau start and end marked, baseline dashed."""
    runs = [i for i in infos if i.curve("val/attr_loss") is not None]
    if not runs:
        return False
    plt = pyplot()
    groups = seed_groups(runs, keys)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.4))
    marked = 0
    for group, colour in zip(groups, colours(len(groups)), strict=True):
        for ax, tag in ((ax_loss, "val/attr_loss"), (ax_acc, "val/attr_acc")):
            curve = group.curve(tag)
            if curve is None:
                continue
            plot_seed_curve(ax, curve, colour, group.label if ax is ax_loss else None)
            marked += mark_phases(ax, group, curve, colour)
    baselines = {round(b, 4) for b in (i.baseline for i in runs) if b is not None}
    for b in sorted(baselines):
        ax_loss.axhline(b, color="grey", ls="--", lw=1, label=f"no-knowledge baseline {b:.2f}")
    ax_loss.set(yscale="log", xlabel="training step", ylabel="attribute loss (nats, held-out templates)")
    plain_log_ticks(ax_loss.yaxis)
    ax_loss.set_title("Attribute loss (Fig. 2 left)")
    ax_acc.set(xlabel="training step", ylabel="attribute accuracy", ylim=(-0.02, 1.02))
    ax_acc.set_title("Attribute accuracy (Fig. 2 middle)")
    extra = ([band_handle()] if any(g.n > 1 for g in groups) else []) + (phase_handles() if marked else [])
    legend_with(ax_loss, extra, fontsize=7)
    save_figure(fig, path)
    return True


def _paper_line(ax, lo: float, hi: float, unit: Any, label: str) -> None:
    """The paper's fit over ``[lo, hi]``: solid inside the paper's N range, dashed (and said so) outside."""
    p_lo, p_hi = PAPER_PLATEAU_N_RANGE
    inside = (max(lo, p_lo), min(hi, p_hi))
    if inside[0] < inside[1]:
        grid = np.geomspace(*inside, 50)
        ax.plot(grid, unit(grid), color="black", lw=1.2, label=f"{label}, its N range")
    outside = [(lo, min(hi, p_lo)), (max(lo, p_hi), hi)]
    labelled = False
    for a, b in outside:
        if a < b:
            grid = np.geomspace(a, b, 30)
            text = None if labelled else f"{label}, extrapolated outside N = {p_lo:,}–{p_hi:,}"
            ax.plot(grid, unit(grid), color="black", lw=1.2, ls="--", label=text)
            labelled = True


def _n_range(fits: dict[str, PlateauFit]) -> tuple[float, float]:
    ns = [n for f in fits.values() for n in f.ends]
    return min(ns) / 1.3, max(ns) * 1.3


def _points(ax, stats: dict, colour: Any) -> None:
    """Each seed as a small dot, the mean over seeds as a large one."""
    for n, stat in stats.items():
        ax.scatter([n] * stat.n, stat.values, color=colour, s=12, alpha=0.5, zorder=3)
    ns = sorted(stats)
    ax.scatter(ns, [stats[n].mean for n in ns], color=colour, s=44, zorder=4, edgecolor="black", lw=0.5)


def plot_plateau_vs_n(fits: dict[str, PlateauFit], path: Path) -> bool:
    """Plateau end vs N, log–log: in exposures per individual (end × batch / N; main view) and in steps,
    each group's fit and the paper's (drawn over the paper's N range, dashed beyond it)."""
    if not fits:
        return False
    plt = pyplot()
    fig, (ax_exp, ax_steps) = plt.subplots(1, 2, figsize=(12.5, 4.8))
    lo, hi = _n_range(fits)
    batches = sorted({b for f in fits.values() for b in f.batch_sizes})
    a, b, r2 = PAPER_PLATEAU_FIT
    for (name, pf), colour in zip(fits.items(), colours(len(fits)), strict=True):
        ns = np.asarray(sorted(pf.ends), dtype=float)
        grid = np.geomspace(ns.min(), ns.max(), 50)
        counts = sorted({s.n for s in pf.ends.values()})
        seeds = f"{counts[0]}–{counts[-1]}" if len(counts) > 1 else str(counts[0])
        prefix = f"{name}: " if len(fits) > 1 else ""
        batch = f"batch {pf.batch_size}" if pf.batch_size else "batch sizes " + "/".join(map(str, batches))
        interval = pf.exponent_interval
        b_text = f"b = {pf.fit.exponent:.2f}" + (
            f" [{interval.low:.2f}, {interval.high:.2f}]" if interval else ""
        )
        if pf.exposures:
            _points(ax_exp, pf.exposures, colour)
            if pf.batch_size:
                ax_exp.plot(grid, pf.fit(grid) * pf.batch_size / grid, color=colour,
                            label=f"{prefix}ours ({batch}, {seeds} seeds per N), {b_text}")  # fmt: skip
        _points(ax_steps, pf.ends, colour)
        ax_steps.plot(grid, pf.fit(grid), color=colour, label=f"{prefix}ours, {batch}: {pf.fit.describe()}")
    _paper_line(ax_exp, lo, hi, paper_plateau_exposures, f"paper {a}·N^{b} × {PAPER_BATCH_SIZE} / N")
    _paper_line(
        ax_steps, lo, hi, lambda n: a * n**b, f"paper {a}·N^{b} (R² = {r2}), batch {PAPER_BATCH_SIZE}"
    )
    ax_exp.set(xscale="log", yscale="log", xlabel="number of individuals N",
               ylabel="exposures per individual at plateau end")  # fmt: skip
    ax_exp.set_title("Plateau end in exposures (end step × batch / N)", fontsize=10)
    ours = "/".join(map(str, batches)) or "?"
    ax_steps.set(xscale="log", yscale="log", xlabel="number of individuals N",
                 ylabel="plateau end (optimizer steps)")  # fmt: skip
    ax_steps.set_title(
        f"In steps: ours at batch {ours}, the paper's at batch {PAPER_BATCH_SIZE}", fontsize=10
    )
    for ax in (ax_exp, ax_steps):
        ax.set_xlim(lo, hi)
        plain_log_ticks(ax.yaxis)
        ax.legend(fontsize=7)
    fig.suptitle("Plateau end vs population size (Fig. 2 right); small dots: seeds, large: mean; "
                 "b's interval: bootstrap over seeds", fontsize=10)  # fmt: skip
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
                ax, fig, rows, cols, values, "Plateau end (steps), mean over seeds (Fig. 4 left)",
                "power-law exponent α", "number of individuals N", lambda v: f"{v:.0f}",
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
