"""Matplotlib plumbing shared by the report's figures: the headless backend, colours, mean curves with
their seed band, tick labels that never overlap, saving, heatmaps.

matplotlib is imported on first use, so reading runs and writing tables need only numpy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from factdyn.analysis.report.seeds import BAND, SeedCurve
from factdyn.checks import require_extra

ANALYSIS_EXTRA = "analysis"
"""pyproject.toml's optional dependency group with matplotlib (``pip install 'factdyn[analysis]'``)."""


def require_matplotlib() -> None:
    """A one-line error naming the extra to install when matplotlib is missing."""
    require_extra("matplotlib", ANALYSIS_EXTRA, "factdyn report")


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def colours(n: int) -> list:
    """``n`` distinguishable viridis colours (the yellow end left out)."""
    plt = pyplot()
    cmap = plt.get_cmap("viridis")
    return [cmap(i / max(n - 1, 1) * 0.9) for i in range(n)]


def plot_seed_curve(ax, curve: SeedCurve, colour: Any, label: str | None, **line: Any) -> Any:
    """The mean over seeds as a line and, for several seeds, the :data:`~.seeds.BAND` shaded; returns the
    line."""
    (drawn,) = ax.plot(curve.steps, curve.mean, color=colour, label=label, **line)
    if curve.n > 1:
        ax.fill_between(curve.steps, curve.low, curve.high, color=colour, alpha=0.18, lw=0)
    return drawn


def band_handle() -> Any:
    """A legend entry saying what the shaded bands are."""
    from matplotlib.patches import Patch

    return Patch(facecolor="grey", alpha=0.3, label=f"band: {BAND}")


def legend_with(ax, extra: list[Any], **kwargs: Any) -> Any:
    """``ax``'s legend with ``extra`` handles (e.g. :func:`band_handle`) after the labelled artists."""
    handles, _ = ax.get_legend_handles_labels()
    return ax.legend(handles=[*handles, *extra], **kwargs)


def plain_log_ticks(axis: Any) -> None:
    """Label a log axis's ticks, major and minor, as plain numbers (``4``, ``0.3``, ``1000``) rather than
    ``4×10^0``; :func:`thin_tick_labels` then drops the ones that would overlap."""
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(plain)


def _overlaps(a: Any, b: Any) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def thin_tick_labels(fig: Any) -> int:
    """Hide tick labels that would overlap others on the same axis (major ones kept first, in order, then
    minor ones where there is room); returns how many it hid. Log axes spanning less than a decade label
    their minor ticks, which is where overlaps come from."""
    fig.draw_without_rendering()  # places the ticks and their texts; rasterises nothing
    renderer = fig.canvas.get_renderer()
    hidden = 0
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            kept: list[Any] = []
            for minor in (False, True):
                labels = [t for t in axis.get_ticklabels(minor=minor) if t.get_visible() and t.get_text()]
                horizontal = axis is ax.xaxis
                labels.sort(key=lambda t: t.get_position()[0 if horizontal else 1])
                for text in labels:
                    box = text.get_window_extent(renderer).expanded(1.05, 1.05)
                    if any(_overlaps(box, other) for other in kept):
                        text.set_visible(False)
                        hidden += 1
                    else:
                        kept.append(box)
    return hidden


def save_figure(fig: Any, path: Path) -> None:
    """Write a figure at the report's resolution, tick labels thinned so that none overlap, and free it."""
    fig.tight_layout()
    thin_tick_labels(fig)
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
