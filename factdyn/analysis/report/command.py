"""``factdyn report``: read the runs, draw every figure whose runs exist, write ``report.md`` and
``report.json``; and the argparse program around it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factdyn.analysis.fits import PowerLaw
from factdyn.analysis.report.aggregates import heatmap_tables
from factdyn.analysis.report.figures_attention import plot_attention, plot_attention_layers, plot_patching
from factdyn.analysis.report.figures_evaluations import plot_evaluations
from factdyn.analysis.report.figures_new_individuals import (
    plot_finetuning,
    plot_finetuning_trajectories,
    plot_hallucinations,
)
from factdyn.analysis.report.figures_panel import plot_panel
from factdyn.analysis.report.figures_phases import plot_curves, plot_heatmaps, plot_plateau_vs_n
from factdyn.analysis.report.markdown import HeatmapTables, PlateauFits, report_markdown
from factdyn.analysis.report.measures import measures
from factdyn.analysis.report.plateau_fit import PlateauFit, plateau_fits
from factdyn.analysis.report.plotting import require_matplotlib
from factdyn.analysis.report.run_info import RunInfo, load_runs, varying_keys
from factdyn.analysis.report.seeds import BAND, SEED_MEANING, seed_groups
from factdyn.errors import OneLineArgumentParser
from factdyn.run_layout import SUMMARY


@dataclass
class Report:
    """What :func:`make_report` wrote: figure files, the Markdown file, and the plateau fits by group
    (``plateau_fits``: the power laws; ``plateau``: with the per-seed values and the exponent's interval)."""

    out: Path
    figures: dict[str, Path] = field(default_factory=dict)
    markdown: Path | None = None
    plateau_fits: dict[str, PowerLaw] = field(default_factory=dict)
    plateau: dict[str, PlateauFit] = field(default_factory=dict)


def figure_drawers(
    infos: Sequence[RunInfo], keys: list[str], fits: PlateauFits, tables: HeatmapTables
) -> dict[str, Callable[[Path], bool]]:
    """Figure name (the PNG's stem) -> a function that draws it to a path and says whether it did; in the
    order the report lists them."""
    return {
        "curves": lambda p: plot_curves(infos, keys, p),
        "evaluations": lambda p: plot_evaluations(infos, keys, p),
        "plateau_vs_n": lambda p: plot_plateau_vs_n(fits, p),
        "heatmaps": lambda p: plot_heatmaps(tables, p),
        "hallucinations": lambda p: plot_hallucinations(infos, keys, p),
        "finetuning": lambda p: plot_finetuning(infos, keys, p),
        "finetuning_trajectories": lambda p: plot_finetuning_trajectories(infos, keys, p),
        "patching": lambda p: plot_patching(infos, p),
        "attention": lambda p: plot_attention(infos, keys, p),
        "attention_layers": lambda p: plot_attention_layers(infos, keys, p),
        "panel": lambda p: plot_panel(infos, keys, p),
    }


def seed_groups_json(infos: Sequence[RunInfo], keys: list[str]) -> list[dict[str, Any]]:
    """Each seed group: label, factors, seeds, runs, and every measure over its seeds."""
    columns = measures(infos)
    out = []
    for group in seed_groups(infos, keys):
        stats = {m.name: group.stat(m.of) for m in columns}
        out.append({
            "label": group.label,
            "factors": group.factors,
            "seeds": list(group.seeds),
            "runs": [str(r.run.path) for r in group.runs],
            "stats": {name: s.as_dict() for name, s in stats.items() if s is not None},
        })  # fmt: skip
    return out


def report_json(
    infos: Sequence[RunInfo], keys: list[str], figures: dict[str, Path], fits: PlateauFits
) -> dict[str, Any]:
    """The machine-readable ``report.json``: the runs, factors, seed groups, figure files, plateau fits."""
    return {
        "runs": [str(i.run.path) for i in infos],
        "factors": keys,
        "seeds": SEED_MEANING,
        "band": BAND,
        "seed_groups": seed_groups_json(infos, keys),
        "figures": {k: str(v) for k, v in figures.items()},
        "plateau_fits": {name: pf.as_dict() for name, pf in fits.items()},
    }


def make_report(paths: Sequence[str | Path], out: str | Path, title: str | None = None) -> Report:
    """Read the runs under ``paths`` and write figures, ``report.md`` and ``report.json`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    infos = load_runs(paths)
    report = Report(out=out)
    if not infos:
        raise SystemExit(
            f"factdyn report: no run directories ({SUMMARY} or TensorBoard events) under {paths}"
        )
    keys = varying_keys(infos)
    fits = plateau_fits(infos, keys)
    report.plateau = fits
    report.plateau_fits = {name: pf.fit for name, pf in fits.items()}
    tables = heatmap_tables(infos)
    for name, draw in figure_drawers(infos, keys, fits, tables).items():
        path = out / f"{name}.png"
        if draw(path):
            report.figures[name] = path
    report.markdown = out / "report.md"
    report.markdown.write_text(report_markdown(title, paths, infos, keys, fits, tables, report.figures))
    (out / "report.json").write_text(json.dumps(report_json(infos, keys, report.figures, fits), indent=2))
    return report


def main(argv: list[str] | None = None) -> None:
    """``factdyn report <runs...> --out <folder> [--title ...]``."""
    parser = OneLineArgumentParser(
        prog="factdyn report", description="Figures (PNG) and a Markdown table from factdyn run directories."
    )
    parser.add_argument("runs", nargs="+", type=Path, help="run directories or folders holding runs")
    parser.add_argument("--out", type=Path, required=True, help="output folder (e.g. reports/<name>)")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    require_matplotlib()  # before any run is read or anything written
    report = make_report(args.runs, args.out, args.title)
    print(f"[report] {report.markdown}: figures {', '.join(report.figures) or 'none'}")
    for name, pf in report.plateau.items():
        interval = f", b: {pf.exponent_interval.describe()}" if pf.exponent_interval else ""
        print(f"[report] plateau end vs N ({name}): {pf.fit.describe()}{interval}")
