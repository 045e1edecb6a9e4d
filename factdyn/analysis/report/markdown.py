"""The text of ``report.md``: the runs table and one section per result, each a list of Markdown lines.

Section functions return ``[]`` when their result does not exist, so :func:`report_markdown` simply
concatenates them in the report's order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from factdyn.analysis.fits import PAPER_PLATEAU_FIT, PowerLaw
from factdyn.analysis.patching import format_grid, patching_grid
from factdyn.analysis.report.figures_panel import panel_section
from factdyn.analysis.report.run_info import RunInfo
from factdyn.run_layout import VERSION_PREFIX

PlateauFits = dict[str, tuple[PowerLaw, dict[int, list[int]]]]
"""Group -> (fit of plateau end vs N, plateau ends by N): what ``aggregates.plateau_fits`` returns."""
HeatmapTables = dict[str, tuple[list, list, np.ndarray]]
"""Kind -> (rows, columns, values): what ``aggregates.heatmap_tables`` returns."""


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def runs_table(infos: Sequence[RunInfo], keys: list[str], root: Path | None) -> list[str]:
    """One row per run: its factors, seed, plateau boundaries, exposures at the plateau end, final losses."""
    head = ["run", *[k.rsplit(".", 1)[-1] for k in keys], "seed", "steps", "plateau start", "plateau end",
            "knowledge", "exposures at plateau end", "val attr loss", "val attr acc", "unseen attr loss",
            "wall s"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for info in infos:
        phases = info.phases
        exposures = None
        if phases and phases.end_step is not None and info.batch_size and info.n:
            exposures = phases.end_step * info.batch_size / info.n
        name = (
            info.run.path.parent.name if info.run.path.name.startswith(VERSION_PREFIX) else info.run.path.name
        )
        cells = [
            name,
            *[_fmt(info.config.get(k)) for k in keys],
            _fmt(info.seed),
            _fmt(info.run.summary.get("steps")),
            _fmt(phases.start_step if phases else None),
            _fmt(phases.end_step if phases else None)
            + (" (curve)" if phases and phases.source == "curve" else ""),
            _fmt(phases.knowledge_step if phases else None),
            _fmt(exposures, 3),
            _fmt(info.final("val/attr_loss")),
            _fmt(info.final("val/attr_acc")),
            _fmt(info.final("unseen/attr_loss")),
            _fmt(info.run.summary.get("wall_seconds")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def header(
    title: str | None, paths: Sequence[str | Path], infos: Sequence[RunInfo], keys: list[str]
) -> list[str]:
    """Title, where the runs came from and the factors."""
    md = [
        f"# {title or 'factdyn report'}",
        "",
        f"{len(infos)} runs from: " + ", ".join(f"`{p}`" for p in paths),
    ]
    md += ["", f"Factors (config keys that vary): {', '.join(f'`{k}`' for k in keys) or 'none'}", ""]
    return md


def runs_section(infos: Sequence[RunInfo], keys: list[str]) -> list[str]:
    """The runs table and how its plateau columns were found."""
    md = ["## Runs", "", *runs_table(infos, keys, None), ""]
    md += [
        "Plateau boundaries are the `plateau` section of `summary.json` (the `PhaseDetector`), or, marked "
        "(curve), the same detection replayed on the logged `val/attr_loss`. Exposures = plateau end × batch "
        "size / N (paper: ≈ 11 at 4k falling to ≈ 5 at 256k).",
        "",
    ]
    return md


def plateau_fit_section(fits: PlateauFits) -> list[str]:
    """The power-law fits next to the paper's, then each group's plateau ends by N (Fig. 2 right)."""
    if not fits:
        return []
    a, b, r2 = PAPER_PLATEAU_FIT
    md = ["## Plateau end vs N (Fig. 2 right)", ""]
    md += ["| group | prefactor a | exponent b | R² | points | paper |", "|---|---|---|---|---|---|"]
    for name, (fit, _) in fits.items():
        md.append(
            f"| {name} | {fit.prefactor:.3g} | {fit.exponent:.3f} | {fit.r2:.3f} | {fit.n_points} | "
            f"{a}·N^{b}, R² = {r2} |"
        )
    for name, (fit, by_n) in fits.items():
        md += ["", f"{name}: plateau end (steps) by N, mean over seeds; fit {fit.describe()}", ""]
        md += ["| N | plateau end | fitted | paper's fit |", "|---|---|---|---|"]
        for n, ends in by_n.items():
            md.append(f"| {n} | {np.mean(ends):.0f} | {float(fit(n)):.0f} | {a * n**b:.0f} |")
    md.append("")
    return md


def heatmap_sections(tables: HeatmapTables) -> list[str]:
    """The N × α plateau-end grid and the N × steps best-α grid as tables (Fig. 4 left/middle)."""
    md: list[str] = []
    for kind, (rows, cols, values) in tables.items():
        heading = "Plateau end (steps), N × α (Fig. 4 left)" if kind == "plateau_end" else (
            "Best α (lowest final val/attr_loss), N × steps (Fig. 4 middle)")  # fmt: skip
        md += [f"## {heading}", "", "| N \\ " + ("α" if kind == "plateau_end" else "steps") + " | "
               + " | ".join(str(c) for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]  # fmt: skip
        for r, row in zip(rows, values, strict=True):
            md.append(f"| {r} | " + " | ".join(_fmt(float(v), 3) for v in row) + " |")
        md.append("")
    return md


def patching_section(infos: Sequence[RunInfo]) -> list[str]:
    """The start × reference step table of attention-patching runs (Fig. 3 middle, Fig. D)."""
    grid = patching_grid([i.run for i in infos])
    if not grid:
        return []
    return ["## Attention patching (Fig. 3 middle, Fig. D)", "", format_grid(grid, None, "val/attr_loss"), ""]


def figures_section(figures: dict[str, Path]) -> list[str]:
    """The drawn figures, embedded by file name (they sit next to ``report.md``)."""
    if not figures:
        return []
    return ["## Figures", "", *[f"![{name}]({path.name})" for name, path in figures.items()], ""]


def report_markdown(
    title: str | None,
    paths: Sequence[str | Path],
    infos: Sequence[RunInfo],
    keys: list[str],
    fits: PlateauFits,
    tables: HeatmapTables,
    figures: dict[str, Path],
) -> str:
    """The whole of ``report.md``."""
    md = [
        *header(title, paths, infos, keys),
        *runs_section(infos, keys),
        *plateau_fit_section(fits),
        *heatmap_sections(tables),
        *patching_section(infos),
        *panel_section(infos, keys),
        *figures_section(figures),
    ]
    return "\n".join(md)
