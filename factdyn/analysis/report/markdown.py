"""The text of ``report.md``: the seed-group and runs tables and one section per result, each a list of
Markdown lines (the result sections with their own numbers are :mod:`.markdown_results`).

Section functions return ``[]`` when their result does not exist, so :func:`report_markdown` simply
concatenates them in the report's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from factdyn.analysis.patching import format_grid, patching_grid
from factdyn.analysis.report.figures_panel import panel_section
from factdyn.analysis.report.markdown_results import (
    attention_section,
    finetuning_section,
    plateau_fit_section,
)
from factdyn.analysis.report.md_table import cell, table
from factdyn.analysis.report.measures import measures
from factdyn.analysis.report.plateau_fit import PlateauFit
from factdyn.analysis.report.run_info import RunInfo, seed_linked_keys
from factdyn.analysis.report.seeds import BAND, SEED_MEANING, seed_groups

PlateauFits = dict[str, PlateauFit]
"""Group -> its plateau end vs N: what :func:`.plateau_fit.plateau_fits` returns."""
HeatmapTables = dict[str, tuple[list, list, np.ndarray]]
"""Kind -> (rows, columns, values): what ``aggregates.heatmap_tables`` returns."""

CAPTIONS = {
    "curves": f"mean over each group's seeds, band: {BAND}; markers: each seed's detected plateau start "
    "(triangle) and end (square), on the group's mean curve.",
    "plateau_vs_n": "left (main view): exposures per individual at the plateau end (end step × batch size "
    "/ N) with the paper's 0.43·N^0.81 converted to the same unit (× 128 / N), solid over the paper's N "
    "range (4k–256k) and dashed where extrapolated; right: the same in optimizer steps, ours at our batch "
    "size and the paper's at 128. Small dots: seeds; large: their mean.",
    "evaluations": f"each group's own held-out evaluation during training (solid) against `factdyn "
    "validate` / `test` of its checkpoints (one line style per evaluation, named in the legend: e.g. "
    f"shuffled biographies for a fixed-order run), mean over seeds, band: {BAND}.",
    "heatmaps": "mean over seeds per cell.",
    "hallucinations": f"one row per group; seen (solid) vs unseen (dashed) individuals, band: {BAND}; "
    "dotted: the no-knowledge baseline.",
    "finetuning": f"Fig. N: old and new individuals' accuracy and loss vs fine-tuning step, band: {BAND}; "
    "circled: step 0, the pre-trained model evaluated before any update (a run without that evaluation "
    "says so in its legend entry).",
    "finetuning_trajectories": "Fig. 5 middle/right: mean over seeds; grey dot: step 0, the pre-trained "
    "model.",
    "attention": f"Fig. 3 right, layers numbered from 0 (layer 0 is the paper's layer 1); band: {BAND}.",
    "attention_layers": f"Fig. F: a line per layer (numbered from 0), one row per group; band: {BAND}.",
    "patching": f"mean over seeds per reference step, band: {BAND}.",
}
"""What each figure shows, under it in report.md (a figure without an entry gets no caption)."""


def runs_table(infos: Sequence[RunInfo], keys: list[str]) -> list[str]:
    """One row per run (in the order of the seed groups, by seed within each): its factors, seed, steps,
    each of :func:`.measures.measures`, wall time."""
    columns = measures(infos)
    infos = [run for group in seed_groups(infos, keys) for run in group.runs]
    head = [
        "run",
        *[k.rsplit(".", 1)[-1] for k in keys],
        "seed",
        "steps",
        *[m.name for m in columns],
        "wall s",
    ]
    rows = []
    for info in infos:
        phases = info.phases
        cells = [info.name, *[cell(info.config.get(k)) for k in keys], cell(info.seed)]
        cells.append(cell(info.run.summary.get("steps")))
        for m in columns:
            value = m.of(info)
            text = "–" if value is None else f"{value:{m.fmt}}"
            if m.name == "plateau end" and phases is not None and phases.source == "curve":
                text += " (curve)"
            cells.append(text)
        cells.append(cell(info.run.summary.get("wall_seconds")))
        rows.append(cells)
    return table(head, rows)


def header(
    title: str | None, paths: Sequence[str | Path], infos: Sequence[RunInfo], keys: list[str]
) -> list[str]:
    """Title, where the runs came from, the factors, what a seed changes and what the bands are."""
    md = [
        f"# {title or 'factdyn report'}",
        "",
        f"{len(infos)} runs from: " + ", ".join(f"`{p}`" for p in paths),
    ]
    md += ["", f"Factors (config keys that vary): {', '.join(f'`{k}`' for k in keys) or 'none'}", ""]
    linked = seed_linked_keys(infos)
    if linked:
        md += [
            "Part of the seed, not factors (they change with `seed_everything` alone, e.g. each seed "
            f"fine-tuned from its own pre-training run): {', '.join(f'`{k}`' for k in linked)}",
            "",
        ]
    md += [
        f"Runs equal in every factor are the seeds of one group. {SEED_MEANING} Curves show the mean over a "
        f"group's seeds with the band spanning the {BAND}; tables give mean ± s.d. (sample, ddof = 1) and "
        "the per-seed values in seed order.",
        "",
    ]
    return md


def seeds_section(infos: Sequence[RunInfo], keys: list[str]) -> list[str]:
    """One row per seed group: its seeds and, for each measure some run has, mean ± s.d. (per seed)."""
    groups = seed_groups(infos, keys)
    columns = measures(infos)
    stats = [[g.stat(m.of) for m in columns] for g in groups]
    keep = [j for j in range(len(columns)) if any(row[j] is not None for row in stats)]
    head = ["group", "seeds", *[columns[j].name for j in keep]]
    rows = [
        [g.label, ", ".join(cell(s) for s in g.seeds)]
        + ["–" if row[j] is None else row[j].format(columns[j].fmt) for j in keep]
        for g, row in zip(groups, stats, strict=True)
    ]
    return ["## Seed groups", "", *table(head, rows), ""]


def runs_section(infos: Sequence[RunInfo], keys: list[str]) -> list[str]:
    """The runs table and how its plateau columns were found."""
    md = ["## Runs", "", *runs_table(infos, keys), ""]
    md += [
        "Plateau boundaries are the `plateau` section of `summary.json` (the `PhaseDetector`), or, marked "
        "(curve), the same detection replayed on the logged `val/attr_loss`. Exposures = plateau end × batch "
        "size / N (not given for fine-tuning runs, whose plateau is the new individuals'; paper: ≈ 11 at 4k "
        "falling to ≈ 5 at 256k).",
        "",
    ]
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
            md.append(f"| {r} | " + " | ".join(cell(float(v), 3) for v in row) + " |")
        md.append("")
    return md


def patching_section(infos: Sequence[RunInfo]) -> list[str]:
    """The start × reference step table of attention-patching runs (Fig. 3 middle, Fig. D)."""
    grid = patching_grid([i.run for i in infos])
    if not grid:
        return []
    return ["## Attention patching (Fig. 3 middle, Fig. D)", "", format_grid(grid, None, "val/attr_loss"), ""]


def figures_section(figures: dict[str, Path]) -> list[str]:
    """The drawn figures, embedded by file name (they sit next to ``report.md``), each with its caption."""
    if not figures:
        return []
    md = ["## Figures", ""]
    for name, path in figures.items():
        md += [f"![{name}]({path.name})", ""]
        if name in CAPTIONS:
            md += [f"*{name}*: {CAPTIONS[name]}", ""]
    return md


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
        *seeds_section(infos, keys),
        *runs_section(infos, keys),
        *plateau_fit_section(fits),
        *heatmap_sections(tables),
        *finetuning_section(infos, keys),
        *attention_section(infos, keys),
        *patching_section(infos),
        *panel_section(infos, keys),
        *figures_section(figures),
    ]
    return "\n".join(md)
