"""Generated block name -> what writes it. A name ``verdict.<key>`` is the one-line verdict of a claim
(:mod:`factdyn.analysis.evidence.summary`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from factdyn.analysis.evidence import (
    attention,
    campaign,
    distributions,
    finetuning,
    finetuning_drop,
    fixed_order,
    knowledge_panel,
    plateau_vs_n,
    quickstart,
    robustness,
    substrate,
    summary,
    toy,
)

VERDICT_PREFIX = "verdict."

BLOCKS: dict[str, Callable[[Path], str]] = {
    "campaign": campaign.campaign_table,
    "summary": summary.summary_table,
    "quickstart_phases": quickstart.phases_table,
    "quickstart_curve": quickstart.curve_table,
    "plateau_vs_n": plateau_vs_n.table,
    "plateau_vs_n_constant": lambda results: plateau_vs_n.table(results, plateau_vs_n.CONSTANT),
    "hallucinations": quickstart.hallucination_table,
    "attention_statistics": attention.statistics_table,
    "patching": attention.patching_table,
    "distributions": distributions.table,
    "distribution_buckets": distributions.bucket_table,
    "toy": toy.table,
    "robustness": robustness.table,
    "panel_samplers": knowledge_panel.samplers_table,
    "panel_finetuning": knowledge_panel.finetuning_table,
    "finetuning": finetuning.table,
    "substrate_attention": substrate.attention_table,
    "substrate_dynamics": substrate.dynamics_table,
    "finetuning_drop": finetuning_drop.table,
    "fixed_order": fixed_order.table,
}


def render(name: str, results: Path) -> str:
    """The text of block ``name`` from the archive under ``results``; an unknown name is an error naming the
    known ones."""
    if name.startswith(VERDICT_PREFIX):
        key = name.removeprefix(VERDICT_PREFIX)
        known = {k for _, k, _ in (*summary.CLAIMS, *summary.QUESTIONS)}
        if key not in known:
            names = sorted(VERDICT_PREFIX + k for k in known)
            raise ValueError(f"unknown verdict block {name!r}; known: {names}")
        found = summary.all_verdicts(results).get(key)
        return found.text() if found is not None else summary.NOT_MEASURED
    if name not in BLOCKS:
        raise ValueError(f"unknown generated block {name!r}; known: {sorted(BLOCKS)} and verdict.<claim>")
    return BLOCKS[name](results)
