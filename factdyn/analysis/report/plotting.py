"""Matplotlib plumbing shared by the report's figures: the headless backend, colours, saving, heatmaps.

matplotlib is imported on first use, so reading runs and writing tables need only numpy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def colours(n: int) -> list:
    """``n`` distinguishable viridis colours (the yellow end left out)."""
    plt = pyplot()
    cmap = plt.get_cmap("viridis")
    return [cmap(i / max(n - 1, 1) * 0.9) for i in range(n)]


def save_figure(fig: Any, path: Path) -> None:
    """Write a figure at the report's resolution and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    pyplot().close(fig)


def annotated_heatmap(
    ax, fig, rows: list, cols: list, values: np.ndarray, title: str, xlabel: str, ylabel: str, fmt
) -> Any:
    """``values`` as an image with each finite cell written in it; returns the image (for a colorbar)."""
    image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
    middle = np.nanmean([np.nanmin(values), np.nanmax(values)])
    ax.set_xticks(range(len(cols)), [str(c) for c in cols])
    ax.set_yticks(range(len(rows)), [str(r) for r in rows])
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if np.isfinite(values[i, j]):
                colour = "white" if values[i, j] < middle else "black"
                ax.text(j, i, fmt(values[i, j]), ha="center", va="center", color=colour, fontsize=8)
    return image
