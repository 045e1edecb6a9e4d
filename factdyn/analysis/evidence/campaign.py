"""The campaign's status block: which experiments of REPRODUCTION.md have archived runs, and how many of the
runs each needs (every run on three seeds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from factdyn.analysis.evidence.archive_view import Experiment, markdown_table, seeds_line
from factdyn.analysis.evidence.verdicts import MIN_SEEDS


@dataclass(frozen=True)
class Planned:
    """One experiment of the CPU campaign (``scripts/campaign_cpu.sh <name>``).

    Args:
        name: its folder in the archive (``results/<name>``) and the campaign script's word.
        section: where REPRODUCTION.md reports it.
        runs_per_seed: the runs one seed needs.
        what: the runs, in words.
    """

    name: str
    section: str
    runs_per_seed: int
    what: str


CAMPAIGN: tuple[Planned, ...] = (
    Planned("quickstart", "§1, §2, §4", 1, "the quickstart, with attention statistics (the patching "
            "reference)"),
    Planned("patching", "§2", 5, "patching from step 0 with the reference's patterns of steps 0, 250, 500, "
            "750, 2000"),
    Planned("plateau_vs_n", "§1", 5, "N = 1k, 2k, 4k, 8k, 16k"),
    Planned("distributions", "§3", 6, "Zipf α 0.4, 0.6, 0.8, 1.0, celebrities, warm-up (uniform: the "
            "quickstart)"),
    Planned("finetuning", "§5", 5, "from each seed's quickstart: replay 0, 1/16, 1/4 with 125 new; 32 and "
            "500 new without replay"),
    Planned("toy", "§6", 7, "pre-training, then 32 / 128 / 512 new pairs, and 128 with replay 1/2, 1/8, "
            "1/32"),
    Planned("robustness", "§7", 6, "1, 2, 4, 8, 16 templates, Hawk (20 templates: the quickstart; 16 in "
            "fixed order: `results/fixed_order`)"),
    Planned("substrate", "§9 (a)", 3, "word + rotary, subword + learned, subword + rotary, with attention "
            "statistics (word + learned: the quickstart)"),
    Planned("fixed_order", "§7, §9 (b)", 2, "16 templates in a fixed order, learned and rotary positions, "
            "each checkpoint also measured on shuffled biographies"),
    Planned("plateau_vs_n_constant", "§9 (c)", 5, "N = 1k, 2k, 4k, 8k, 16k, constant learning rate after "
            "the warm-up"),
    Planned("finetuning_drop", "§9 (e)", 6, "125 new people, replay 0 and 1/4, AdamW moments kept or "
            "fresh, lr 2e-4 or 2e-5 (fresh at 2e-4: `results/finetuning`)"),
)  # fmt: skip


def campaign_table(results: Path) -> str:
    rows = []
    for planned in CAMPAIGN:
        runs = Experiment(results, planned.name).runs()
        needed = planned.runs_per_seed * MIN_SEEDS
        seeds = seeds_line(runs) if runs else "–"
        archived = f"{len(runs)} of {needed}"
        rows.append((f"`results/{planned.name}`", planned.section, planned.what, archived, seeds))
    return markdown_table(["archive", "section", "runs", "archived", "seeds"], rows)
