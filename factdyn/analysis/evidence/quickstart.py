"""Generated blocks of the quickstart experiment (REPRODUCTION §1 and §4, the README's curve): the three
phases and the hallucinations on unseen individuals, over the archived quickstart runs'
seeds (``results/quickstart``)."""

from __future__ import annotations

from pathlib import Path

from factdyn.analysis.evidence.archive_view import (
    Experiment,
    first_step,
    markdown_table,
    per_seed,
    seeds_line,
    stat_text,
    value_at,
)
from factdyn.analysis.evidence.verdicts import Verdict, compare, holds_in_every_seed
from factdyn.analysis.report.measures import (
    exposures_at_plateau_end,
    final,
    knowledge_step,
    logged_at,
    plateau_end,
    plateau_start,
)
from factdyn.analysis.report.run_info import RunInfo

NAME = "quickstart"
HOW = "Run `bash scripts/campaign_cpu.sh quickstart`, then `factdyn evidence`."
CURVE_STEPS = (40, 200, 400, 600, 800, 1000, 1200, 1600, 2000)
KNOWLEDGE_ACC = 0.05
"""``val/attr_acc`` at which the hallucination table says knowledge has appeared."""


def experiment(results: Path) -> Experiment:
    return Experiment(results, NAME)


def _plateau_evaluations(info: RunInfo) -> float | None:
    start, end = plateau_start(info), plateau_end(info)
    every = info.config.get("trainer.val_check_interval")
    return None if start is None or end is None or not every else (end - start) / every


def phases_table(results: Path) -> str:
    """§1: phase boundaries, exposures at the plateau end, final knowledge, per seed."""
    runs = experiment(results).runs()
    if not runs:
        return experiment(results).missing(HOW)
    rows = [
        ("phase 1 ends: `val/attr_loss` within 10 % of the baseline (step)", plateau_start, ".0f"),
        ("plateau ends: first of two evaluations below 0.9 × baseline (step)", plateau_end, ".0f"),
        ("plateau length (evaluations)", _plateau_evaluations, ".0f"),
        ("exposures per individual at the plateau end", exposures_at_plateau_end, ".3g"),
        ("knowledge: loss below 10 % of the baseline (step)", knowledge_step, ".0f"),
        ("no-knowledge baseline (nats)", lambda i: i.baseline, ".4g"),
        ("final `val/attr_loss`", final("val/attr_loss"), ".3f"),
        ("final `val/attr_acc`", final("val/attr_acc"), ".3f"),
    ]  # fmt: skip
    body = [(label, stat_text(per_seed(runs, fn), fmt)) for label, fn, fmt in rows]
    return markdown_table(["quantity", f"mean ± s.d. over {seeds_line(runs)} (per seed)"], body)


def curve_table(results: Path) -> str:
    """README: the quickstart's curves at a few steps, mean ± s.d. over the seeds."""
    runs = experiment(results).runs()
    if not runs:
        return experiment(results).missing(HOW)
    tags = ("val/attr_loss", "val/attr_acc", "unseen/attr_loss")
    body = []
    for step in CURVE_STEPS:
        cells = []
        for tag in tags:
            values = per_seed(runs, lambda i, tag=tag, step=step: logged_at(i, tag, step))
            cells.append(stat_text(values, ".3f", per_seed_values=False))
        body.append((str(step), *cells))
    header = ["step", *(f"`{t}`" for t in tags)]
    return markdown_table(header, body) + f"\n\nMean ± s.d. over {seeds_line(runs)} (`results/{NAME}`)."


def _knowledge_appears(info: RunInfo) -> float | None:
    step = first_step(info, "val/attr_acc", KNOWLEDGE_ACC)
    return None if step is None else float(step)


def _min_of(info: RunInfo, tag: str) -> tuple[float, int] | None:
    curve = info.curve(tag)
    if curve is None:
        return None
    k = int(curve[1].argmin())
    return float(curve[1][k]), int(curve[0][k])


def hallucination_table(results: Path) -> str:
    """§4: unseen individuals against seen ones, per seed."""
    runs = experiment(results).runs()
    if not runs:
        return experiment(results).missing(HOW)

    def unseen_min(i: RunInfo) -> float | None:
        found = _min_of(i, "unseen/attr_loss")
        return None if found is None else found[0]

    def unseen_min_step(i: RunInfo) -> float | None:
        found = _min_of(i, "unseen/attr_loss")
        return None if found is None else float(found[1])

    def max_of(tag: str):
        return lambda i: None if i.curve(tag) is None else float(i.curve(tag)[1].max())

    rows = [
        ("`unseen/attr_loss` minimum", unseen_min, ".3f"),
        ("step of that minimum", unseen_min_step, ".0f"),
        (f"first step with `val/attr_acc` ≥ {KNOWLEDGE_ACC}", _knowledge_appears, ".0f"),
        ("final `unseen/attr_loss`", final("unseen/attr_loss"), ".3f"),
        ("no-knowledge baseline", lambda i: i.baseline, ".4g"),
        ("highest `unseen/attr_acc` during training", max_of("unseen/attr_acc"), ".3f"),
        ("final max probability, seen (`val/max_prob`)", final("val/max_prob"), ".3f"),
        ("final max probability, unseen (`unseen/max_prob`)", final("unseen/max_prob"), ".3f"),
        ("final entropy, seen (`val/entropy`)", final("val/entropy"), ".3f"),
        ("final entropy, unseen (`unseen/entropy`)", final("unseen/entropy"), ".3f"),
    ]  # fmt: skip
    body = [(label, stat_text(per_seed(runs, fn), fmt)) for label, fn, fmt in rows]
    return markdown_table(["quantity", f"mean ± s.d. over {seeds_line(runs)} (per seed)"], body)


THREE_PHASES = "phase 1, a plateau and a knowledge phase, in that order,"


def shows_three_phases(info: RunInfo) -> bool | None:
    """Whether the run went through phase 1, a plateau and knowledge, in that order (``None``: no phase
    record)."""
    s, e, k = plateau_start(info), plateau_end(info), knowledge_step(info)
    return None if info.phases is None else (None not in (s, e, k) and s < e < k)


def verdicts(results: Path) -> dict[str, Verdict]:
    """The claims of §1 (three phases) and §4 (hallucinations) judged on the archived seeds."""
    runs = experiment(results).runs()

    def above_baseline(i: RunInfo) -> bool | None:
        final, base = i.final("unseen/attr_loss"), i.baseline
        return None if final is None or base is None else final > base

    def unseen_at_plateau_end(i: RunInfo) -> float | None:
        return value_at(i, "unseen/attr_loss", plateau_end(i))

    return {
        "three_phases": holds_in_every_seed(per_seed(runs, shows_three_phases), THREE_PHASES),
        "unseen_above_baseline": holds_in_every_seed(
            per_seed(runs, above_baseline), "the final unseen loss above the baseline"
        ),
        "unseen_rises_with_knowledge": compare(
            per_seed(runs, final("unseen/attr_loss")),
            per_seed(runs, unseen_at_plateau_end),
            "higher",
        ),
        "unseen_less_confident": compare(
            per_seed(runs, final("unseen/max_prob")),
            per_seed(runs, final("val/max_prob")),
            "lower",
        ),
    }
