"""Generated block of REPRODUCTION §7 (paper Fig. A, C): training templates per individual, a fixed sentence
order and the Hawk mixer, on the quickstart's budget (``results/robustness``), against the quickstart
itself (20 templates, shuffled, attention: ``results/quickstart``). The fixed-order row (16 templates,
learned positions) comes from §9's fixed-order experiment (``results/fixed_order``), which measures the
same runs on shuffled biographies too."""

from __future__ import annotations

from pathlib import Path

from factdyn.analysis.evidence.archive_view import (
    Column,
    Experiment,
    markdown_table,
    per_seed,
    row_cells,
    seeds_line,
)
from factdyn.analysis.evidence.quickstart import THREE_PHASES, shows_three_phases
from factdyn.analysis.evidence.verdicts import Verdict, compare, holds_in_each, holds_in_every_seed
from factdyn.analysis.report.measures import final, knowledge_step, plateau_end
from factdyn.analysis.report.run_info import RunInfo

NAME = "robustness"
REFERENCE_SOURCE = "quickstart"
FIXED_ORDER_SOURCE = "fixed_order"
HOW = "Run `bash scripts/campaign_cpu.sh robustness`, then `factdyn evidence`."
DEFAULT_TEMPLATES = 20
"""``data.n_templates_train`` of a run whose config does not set it (the DataModule's default)."""
STILL_ON_PLATEAU = 0.9
"""A run "never leaves the plateau" when its final ``val/attr_loss`` is above this × the baseline."""


def _shape(info: RunInfo) -> tuple[int, bool, str]:
    """(training templates, shuffled, sequence mixer) of a run."""
    templates = int(info.config.get("data.n_templates_train") or DEFAULT_TEMPLATES)
    shuffled = info.config.get("data.shuffle_sentences")
    mixer = info.config.get("model.config.sequence_mixer") or "attention"
    return templates, shuffled is None or bool(shuffled), str(mixer)


def label(shape: tuple[int, bool, str]) -> str:
    templates, shuffled, mixer = shape
    text = f"{templates} template{'s' if templates > 1 else ''}"
    if not shuffled:
        text += ", fixed order"
    if mixer != "attention":
        text += f", {mixer.capitalize()}"
    return text


REFERENCE = (DEFAULT_TEMPLATES, True, "attention")
FIXED_ORDER = (16, False, "attention")
ONE_TEMPLATE = (1, True, "attention")
HAWK = (DEFAULT_TEMPLATES, True, "hawk")


def settings(results: Path) -> dict[tuple[int, bool, str], list[RunInfo]]:
    """Shape -> the archived runs of every seed (the quickstart's shape from its own archive)."""
    out: dict[tuple[int, bool, str], list[RunInfo]] = {}
    for info in Experiment(results, REFERENCE_SOURCE).runs():
        out.setdefault(REFERENCE, []).append(info)
    for info in Experiment(results, NAME).runs():
        out.setdefault(_shape(info), []).append(info)
    learned = Experiment(results, FIXED_ORDER_SOURCE).runs(
        lambda i: (i.config.get("model.config.positions") or "learned") == "learned"
    )
    for info in learned:
        out.setdefault(_shape(info), []).append(info)
    return dict(sorted(out.items(), key=lambda item: (item[0][2] != "attention", not item[0][1], item[0][0])))


def _phases_shown(info: RunInfo) -> float | None:
    shown = shows_three_phases(info)
    return None if shown is None else float(shown)


COLUMNS: tuple[Column, ...] = (
    ("plateau end (step)", plateau_end, ".0f", True),
    ("knowledge: loss below 10 % of the baseline (step)", knowledge_step, ".0f", False),
    ("final `val/attr_loss` (held-out templates)", final("val/attr_loss"), ".3f", True),
    ("final `val/attr_acc`", final("val/attr_acc"), ".3f", False),
    ("final `train/attr_loss` (training templates)", final("train/attr_loss"), ".3f", False),
)


def table(results: Path) -> str:
    rows = settings(results)
    if set(rows) <= {REFERENCE}:
        return Experiment(results, NAME).missing(HOW)
    body = []
    for shape, runs in rows.items():
        phases = per_seed(runs, _phases_shown)
        shown = sum(1 for v in phases.values() if v)
        cells = row_cells(runs, COLUMNS)
        name = label(shape) + (" (the quickstart)" if shape == REFERENCE else "")
        body.append((name, str(len(runs)), f"{shown}/{len(phases)}", *cells))
    header = ["training data and mixer", "seeds", "three phases", *(name for name, *_ in COLUMNS)]
    seeds = seeds_line([i for runs in rows.values() for i in runs])
    note = (
        f"\n\nMean ± s.d. over {seeds} (per seed in brackets where shown). Every run shuffles its six "
        "sentences except the fixed-order one; held-out templates are never trained on."
    )
    return markdown_table(header, body) + note


def _templates_robust(rows: dict[tuple[int, bool, str], list[RunInfo]]) -> Verdict | None:
    """Three phases in every seed of every shuffled attention run with 2 or more templates."""
    shapes = [s for s in rows if s[1] and s[2] == "attention" and 2 <= s[0] and s != REFERENCE]
    if not shapes:
        return None
    return holds_in_each({f"{s[0]} templates": per_seed(rows[s], shows_three_phases) for s in shapes})


def verdicts(results: Path) -> dict[str, Verdict]:
    rows = settings(results)
    out: dict[str, Verdict] = {}
    robust = _templates_robust(rows)
    if robust is not None:
        out["templates_robust"] = robust
    loss = final("val/attr_loss")
    if ONE_TEMPLATE in rows and REFERENCE in rows:
        out["one_template_no_generalisation"] = compare(
            per_seed(rows[ONE_TEMPLATE], loss), per_seed(rows[REFERENCE], loss), "higher"
        )
    if FIXED_ORDER in rows:

        def still_on_plateau(info: RunInfo) -> bool | None:
            end, base = info.final("val/attr_loss"), info.baseline
            return None if end is None or base is None else end > STILL_ON_PLATEAU * base

        out["fixed_order_never_learns"] = holds_in_every_seed(
            per_seed(rows[FIXED_ORDER], still_on_plateau),
            f"the final held-out loss above {STILL_ON_PLATEAU} × the baseline",
        )
    if HAWK in rows:
        out["hawk_three_phases"] = holds_in_every_seed(per_seed(rows[HAWK], shows_three_phases), THREE_PHASES)
    return out
