"""The knowledge panel's figures (to TensorBoard or files: factdyn.callbacks.media): P(known | exposures)
with its counts, and the exposures at which facts became known for good. One run, built on
``matplotlib.figure.Figure`` (no pyplot state during training); matplotlib is imported here on first use,
so its absence is an ``ImportError`` the caller handles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from factdyn.dynamics.panel import exposure_edges, first_known_exposures, known_given_exposures


def log_panel_figures(
    log: Callable[[str, Any], None], exposures: np.ndarray, known: np.ndarray, step: int
) -> bool:
    """Give ``log(tag, figure)`` the figures ``panel/known_vs_exposures`` and ``panel/first_known`` of the
    panel so far: ``exposures`` (E, P) and ``known`` (E, P, A). Returns whether it drew them."""
    from matplotlib.figure import Figure

    if exposures.size == 0:
        return False
    log("panel/known_vs_exposures", known_figure(Figure, exposures, known, step))
    log("panel/first_known", first_known_figure(Figure, exposures, known, step))
    return True


def known_figure(figure_class: Any, exposures: np.ndarray, known: np.ndarray, step: int) -> Any:
    """P(known | exposures) over every panel evaluation so far (line), panel points per bin (bars)."""
    curve = known_given_exposures(exposures, known).filled()
    figure = figure_class(figsize=(6, 3.8))
    ax = figure.subplots()
    counts = ax.twinx()
    counts.bar(curve.lo, curve.points, width=curve.hi - curve.lo, align="edge", color="0.85", zorder=0)
    counts.set_ylabel("panel points (evaluation × individual)")
    ax.set_zorder(counts.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.plot(curve.mean_exposures, curve.known, marker="o", ms=3, color="C0")
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="exposures of the individual", ylabel="P(attribute known)", ylim=(-0.02, 1.02))
    ax.set_title(f"knowledge panel: P(known | exposures), up to step {step}", fontsize=9)
    figure.tight_layout()
    return figure


def first_known_figure(figure_class: Any, exposures: np.ndarray, known: np.ndarray, step: int) -> Any:
    """Histogram of the exposures at which each fact became known and stayed known (to this step)."""
    first = first_known_exposures(exposures, known).reshape(-1)
    learned = first[np.isfinite(first)]
    figure = figure_class(figsize=(6, 3.8))
    ax = figure.subplots()
    if len(learned):
        edges = exposure_edges(float(learned.max()))
        ax.hist(learned, bins=edges, color="C1")
    ax.set(xlabel="exposures when first known (and known since)", ylabel="facts (individual × attribute)")
    ax.set_title(
        f"knowledge panel, step {step}: {len(learned)} of {len(first)} facts known for good", fontsize=9
    )
    figure.tight_layout()
    return figure
