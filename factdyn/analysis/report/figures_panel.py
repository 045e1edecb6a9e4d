"""The report's knowledge-panel figure, ``panel.png``, and its section of ``report.md``: P(known | exposures)
of several runs on one figure (groups by factor, seeds as a band, fine-tuning roles apart), the panel points
per bin, the share of facts known for good by exposures, and the 50 % points per run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from factdyn.analysis.panel import (
    common_edges,
    curve,
    first_known,
    mean_curve,
    read_run_panel,
    roles,
    select,
    summarize,
)
from factdyn.analysis.report.plotting import colours, pyplot, save_figure
from factdyn.analysis.report.run_info import RunInfo, sorted_groups
from factdyn.dynamics.panel_table import PanelTable
from factdyn.run_layout import VERSION_PREFIX

ROLE_STYLES = ("-", "--", ":", "-.")


def panel_runs(infos: Sequence[RunInfo]) -> list[tuple[RunInfo, PanelTable]]:
    """The runs that have a panel file, with their tables."""
    found = [(info, read_run_panel(info.run.path)) for info in infos]
    return [(info, table) for info, table in found if table is not None]


def plot_panel(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    """P(known | exposures) per group (mean over seeds, min–max band), points per bin, and the fraction of
    facts known for good by their exposures; the roles of a fine-tuning run (new, replayed) as line styles."""
    runs = panel_runs(infos)
    if not runs:
        return False
    tables = {id(info): table for info, table in runs}
    edges = common_edges([t for _, t in runs])
    plt = pyplot()
    fig, (ax_known, ax_points, ax_first) = plt.subplots(1, 3, figsize=(16, 4.2))
    groups = sorted_groups([info for info, _ in runs], keys)
    for (name, members), colour in zip(groups, colours(len(groups)), strict=True):
        member_tables = [tables[id(m)] for m in members]
        seeds = f" ({len(members)} seeds)" if len(members) > 1 else ""
        for role, style in zip(roles(member_tables[0]), ROLE_STYLES, strict=False):
            parts = [select(t, role=role) for t in member_tables]
            label = name + seeds + (f", {role}" if len(roles(member_tables[0])) > 1 else "")
            x, mean, low, high, points = mean_curve([curve(p, edges) for p in parts])
            filled = np.isfinite(mean)
            ax_known.plot(x[filled], mean[filled], ls=style, marker=".", color=colour, label=label)
            if len(members) > 1:
                ax_known.fill_between(x[filled], low[filled], high[filled], color=colour, alpha=0.2)
            ax_points.stairs(points, edges, color=colour, ls=style, label=label)
            first = np.concatenate([first_known(p).reshape(-1) for p in parts])
            shown = np.sort(first[np.isfinite(first)])
            share = np.arange(1, len(shown) + 1) / len(first)
            ax_first.step(shown, share, where="post", ls=style, color=colour, label=label)
    ax_known.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax_known.set(xscale="symlog", xlabel="exposures of the individual", ylabel="P(attribute known)")
    ax_known.set(ylim=(-0.02, 1.02), title="Knowledge panel: P(known | exposures)")
    ax_points.set(xscale="symlog", yscale="log", xlabel="exposures", ylabel="panel points per bin")
    ax_points.set_title("Points (evaluation × individual) per bin")
    ax_first.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax_first.set(xscale="symlog", xlabel="exposures when first known for good", ylabel="share of facts")
    ax_first.set(ylim=(-0.02, 1.02), title="Facts known for good, by exposures")
    for ax in (ax_known, ax_points, ax_first):
        ax.set_xlim(left=0)  # symlog would show a negative side: exposures are counts
    ax_known.legend(fontsize=7)
    save_figure(fig, path)
    return True


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def panel_section(infos: Sequence[RunInfo], keys: list[str]) -> list[str]:
    """A table of each run's (and role's) 50 % points: the exposures at which P(known) reaches 0.5, by
    which half of the facts were known for good, and the first per frequency bucket."""
    runs = panel_runs(infos)
    if not runs:
        return []
    head = ["run", *[k.rsplit(".", 1)[-1] for k in keys], "seed", "role", "panel", "evaluations",
            "50 % point (exposures)", "half known for good", "known at end",
            "50 % point by bucket"]  # fmt: skip
    md = ["## Knowledge panel: exposures at which half of the panel is known", ""]
    md += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for info, table in runs:
        name = (
            info.run.path.parent.name if info.run.path.name.startswith(VERSION_PREFIX) else info.run.path.name
        )
        for role in roles(table):
            s = summarize(select(table, role=role))
            buckets = ", ".join(f"{b}: {_fmt(v)}" for b, v in s.half_known_by_bucket.items()) or "–"
            cells = [name, *[str(info.config.get(k, "–")) for k in keys], str(info.seed), role,
                     str(s.individuals), str(s.evaluations), _fmt(s.half_known), _fmt(s.median_first_known),
                     f"{s.final_known:.3f}", buckets]  # fmt: skip
            md.append("| " + " | ".join(cells) + " |")
    md += [
        "",
        "50 % point: where the binned P(known | exposures) of the panel's facts (individual × attribute, "
        "every evaluation) first reaches 0.5; half known for good: the median of the exposures at which "
        "each fact became known and stayed known (`docs/panel.md`). Exposures count this run's training "
        "biographies only (for a fine-tuning run's pre-training individuals, not the pre-training's).",
        "",
    ]
    return md
