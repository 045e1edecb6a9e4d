"""Generated block of REPRODUCTION §9 (issue 16 b): a fixed sentence order, trained with learned absolute or
rotary (relative) positions on 16 templates (the paper's Fig. A "16 fixed" run, at the quickstart's budget),
measured on fixed-order biographies (the run's own evaluations) and on shuffled ones (``factdyn validate
--data.shuffle_sentences true`` of the run's checkpoints, recorded in its ``eval/evaluations.jsonl``).

With learned absolute positions and short biographies, the position of a value token alone may tell which
attribute comes next in a fixed order; the shuffled measurement says whether what was learned survives
another order. ``results/fixed_order``; its learned-positions runs are also §7's fixed-order row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from factdyn.analysis.evidence.archive_view import (
    Column,
    Experiment,
    markdown_table,
    per_seed,
    row_cells,
    seeds_line,
)
from factdyn.analysis.evidence.verdicts import Verdict, answer, holds_in_every_seed
from factdyn.analysis.report.measures import final, plateau_end
from factdyn.analysis.report.run_info import RunInfo
from factdyn.run_layout import evaluation_name

NAME = "fixed_order"
HOW = "Run `bash scripts/campaign_cpu.sh fixed_order`, then `factdyn evidence`."
POSITIONS = ("learned", "rotary")
SHUFFLED = evaluation_name("validate", {"shuffle_sentences": True})
"""The evaluation of each checkpoint on shuffled biographies (``validate-shuffle_sentences=true``)."""
LEFT_PLATEAU = 0.9
"""A run has left the plateau when its final held-out loss is below this × the no-knowledge baseline (the
complement of §7's "never leaves the plateau" rule, ``robustness.STILL_ON_PLATEAU``)."""


def positions_of(info: RunInfo) -> str:
    return str(info.config.get("model.config.positions") or "learned")


def settings(results: Path) -> dict[str, list[RunInfo]]:
    """Positions -> the archived fixed-order runs of every seed."""
    out: dict[str, list[RunInfo]] = {}
    for info in Experiment(results, NAME).runs(lambda i: i.config.get("data.shuffle_sentences") is False):
        out.setdefault(positions_of(info), []).append(info)
    return {p: out[p] for p in POSITIONS if p in out}


def shuffled_final(tag: str) -> Callable[[RunInfo], float | None]:
    """``tag`` of the shuffled evaluation at the run's last evaluated checkpoint (its final step)."""

    def value(info: RunInfo) -> float | None:
        curve = info.evaluation_curve(SHUFFLED, tag)
        if curve is None:
            return None
        steps, values = curve
        if info.max_steps and int(steps[-1]) != info.max_steps:
            return None  # the final checkpoint was not evaluated: no final value to compare
        return float(values[-1])

    return value


def shuffled_steps(info: RunInfo) -> float | None:
    """How many checkpoints were measured on shuffled biographies."""
    curve = info.evaluation_curve(SHUFFLED, "val/attr_loss")
    return None if curve is None else float(len(curve[0]))


def baseline(info: RunInfo) -> float | None:
    return info.baseline


COLUMNS: tuple[Column, ...] = (
    ("plateau end, fixed order (step)", plateau_end, ".0f", True),
    ("final `val/attr_loss`, fixed order", final("val/attr_loss"), ".3f", True),
    ("final `val/attr_acc`, fixed order", final("val/attr_acc"), ".3f", False),
    ("final `val/attr_loss`, shuffled", shuffled_final("val/attr_loss"), ".3f", True),
    ("final `val/attr_acc`, shuffled", shuffled_final("val/attr_acc"), ".3f", False),
    ("no-knowledge baseline", baseline, ".3f", False),
    ("checkpoints measured shuffled", shuffled_steps, ".0f", False),
)


def table(results: Path) -> str:
    rows = settings(results)
    if not rows:
        return Experiment(results, NAME).missing(HOW)
    body = [(positions, str(len(runs)), *row_cells(runs, COLUMNS)) for positions, runs in rows.items()]
    header = ["positions", "seeds", *(name for name, *_ in COLUMNS)]
    note = (
        f"\n\nTrained on 16 templates in a fixed sentence order, the quickstart's budget; mean ± s.d. over "
        f"{seeds_line([i for runs in rows.values() for i in runs])} (per seed in brackets where shown). "
        "Fixed order: the run's own evaluation (held-out templates, the training order). Shuffled: the "
        f"same individuals and templates in a random sentence order (`{SHUFFLED}` in each run's "
        "`eval/evaluations.jsonl`)."
    )
    return markdown_table(header, body) + note


def learns_key(positions: str) -> str:
    """The verdict key of "does a fixed-order run with these positions leave the plateau?"."""
    return f"fixed_order_learns_{positions}"


def shuffled_key(positions: str) -> str:
    """The verdict key of "is the final loss on shuffled biographies higher than on fixed-order ones?"."""
    return f"fixed_order_shuffled_{positions}"


def left_plateau(loss: Callable[[RunInfo], float | None]) -> Callable[[RunInfo], bool | None]:
    def value(info: RunInfo) -> bool | None:
        end, base = loss(info), info.baseline
        return None if end is None or base is None else end < LEFT_PLATEAU * base

    return value


def verdicts(results: Path) -> dict[str, Verdict]:
    out: dict[str, Verdict] = {}
    fixed, shuffled = final("val/attr_loss"), shuffled_final("val/attr_loss")
    for positions, runs in settings(results).items():
        out[learns_key(positions)] = holds_in_every_seed(
            per_seed(runs, left_plateau(fixed)),
            f"the final fixed-order held-out loss below {LEFT_PLATEAU} × the baseline",
        )
        out[shuffled_key(positions)] = answer(
            per_seed(runs, shuffled), per_seed(runs, fixed), "lower when shuffled", "higher when shuffled"
        )
    return out
