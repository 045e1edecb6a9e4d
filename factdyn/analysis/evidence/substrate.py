"""Generated blocks of REPRODUCTION §9 (issue 16 a): the per-layer attention statistics of the recall circuit
(paper Fig. F) under each substrate, {word, subword} tokenizer × {learned, rotary} positions, on the
quickstart's budget (``results/substrate``). The word tokenizer with learned positions is the quickstart
reference (``results/quickstart``), recorded with the same attention statistics."""

from __future__ import annotations

from pathlib import Path

from factdyn.analysis.evidence import attention
from factdyn.analysis.evidence.archive_view import (
    Column,
    Experiment,
    markdown_table,
    row_cells,
    seeds_line,
)
from factdyn.analysis.evidence.verdicts import Verdict
from factdyn.analysis.report.measures import final, plateau_end
from factdyn.analysis.report.run_info import RunInfo

NAME = "substrate"
HOW = "Run `bash scripts/campaign_cpu.sh substrate`, then `factdyn evidence`."
Setting = tuple[str, str]
"""(``data.tokenizer``, ``model.config.positions``)."""
REFERENCE: Setting = ("word", "learned")
SETTINGS: tuple[Setting, ...] = (REFERENCE, ("word", "rotary"), ("subword", "learned"), ("subword", "rotary"))
"""Every cell of the grid, in table order."""


def setting_of(info: RunInfo) -> Setting:
    """A run's (tokenizer, positions), with the defaults of a config that does not set them."""
    tokenizer = info.config.get("data.tokenizer") or "word"
    positions = info.config.get("model.config.positions") or "learned"
    return str(tokenizer), str(positions)


def label(setting: Setting) -> str:
    return f"{setting[0]}, {setting[1]}" + (" (the quickstart)" if setting == REFERENCE else "")


def question_key(setting: Setting) -> str:
    """The verdict key of "does this substrate group names in layer 0?"."""
    return f"name_grouping_{setting[0]}_{setting[1]}"


def settings(results: Path) -> dict[Setting, list[RunInfo]]:
    """Setting -> the archived runs of every seed that logged attention statistics."""
    out: dict[Setting, list[RunInfo]] = {}
    reference = attention.reference_runs(results)
    if reference:
        out[REFERENCE] = reference
    for info in Experiment(results, NAME).runs(lambda i: bool(attention.layers([i]))):
        out.setdefault(setting_of(info), []).append(info)
    return {s: out[s] for s in SETTINGS if s in out}


MOMENTS: tuple[attention.Moment, ...] = (
    ("first evaluation", attention.first_evaluation),
    ("plateau end", plateau_end),
    ("end of training", attention.end_of_training),
)
STATISTICS = ("name_to_name", "attr_to_name")


def _measured(results: Path) -> dict[Setting, list[RunInfo]] | None:
    """:func:`settings`, or ``None`` while no cell beyond the quickstart's is archived."""
    rows = settings(results)
    return None if set(rows) <= {REFERENCE} else rows


def attention_table(results: Path) -> str:
    """Name→name and attribute→name in every layer at three moments of each seed's run, per substrate."""
    rows = _measured(results)
    if rows is None:
        return Experiment(results, NAME).missing(HOW)
    body = []
    for setting, runs in rows.items():
        for stat in STATISTICS:
            for layer in attention.layers(runs):
                cells = attention.moment_cells(runs, attention.tag(stat, layer), MOMENTS)
                body.append((label(setting), str(len(runs)), stat, str(layer), *cells))
    header = ["tokenizer, positions", "seeds", "statistic", "layer", *(name for name, _ in MOMENTS)]
    note = (
        f"\n\nMean ± s.d. (per seed) over {seeds_line([i for r in rows.values() for i in r])}, each seed at "
        "the evaluation nearest its own phase boundary; layers are 0-based (the paper's layer 1 is layer 0). "
        "`name_to_name`: attention from the last name token to the other name tokens; `attr_to_name`: from "
        "the token before an attribute value to the name (`docs/attention.md`)."
    )
    return markdown_table(header, body) + note


COLUMNS: tuple[Column, ...] = (
    ("plateau end (step)", plateau_end, ".0f", True),
    ("final `val/attr_loss`", final("val/attr_loss"), ".3f", True),
    ("final `val/attr_acc`", final("val/attr_acc"), ".3f", False),
    ("final `unseen/attr_loss`", final("unseen/attr_loss"), ".3f", False),
)


def dynamics_table(results: Path) -> str:
    """The same runs' plateau end and final losses (does the substrate change the dynamics?)."""
    rows = _measured(results)
    if rows is None:
        return Experiment(results, NAME).missing(HOW)
    body = [(label(s), str(len(runs)), *row_cells(runs, COLUMNS)) for s, runs in rows.items()]
    header = ["tokenizer, positions", "seeds", *(name for name, *_ in COLUMNS)]
    return markdown_table(header, body) + "\n\nMean ± s.d. (per seed in brackets where shown)."


def verdicts(results: Path) -> dict[str, Verdict]:
    """Per substrate: does name→name in layer 0 end above its first evaluation (the paper's name grouping)?"""
    # The quickstart's cell is §2's name_to_name_layer0_rises.
    rows = settings(results)
    return {question_key(s): attention.name_grouping(runs) for s, runs in rows.items() if s != REFERENCE}
