"""Generated blocks of REPRODUCTION §2: the per-layer attention statistics of the reference runs (the
archived quickstart runs, which record them) and the patching runs (``results/patching``: the reference's
attention patterns from step 0 on, one run per reference step and seed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from factdyn.analysis.evidence import quickstart
from factdyn.analysis.evidence.archive_view import (
    Experiment,
    markdown_table,
    per_seed,
    seeds_line,
    stat_text,
    value_at,
)
from factdyn.analysis.evidence.verdicts import Verdict, compare
from factdyn.analysis.report.aggregates import STATISTICS, attention_layers
from factdyn.analysis.report.measures import final, plateau_end, plateau_start
from factdyn.analysis.report.run_info import RunInfo

PATCHING = "patching"
HOW_PATCHING = "Run `bash scripts/campaign_cpu.sh patching`, then archive and `factdyn evidence`."
EARLY_REFERENCE = 250
"""The reference step inside phase 1 (the paper's "early patterns are worse than untrained ones")."""
PLATEAU_REFERENCE = 750


def tag(stat: str, layer: int) -> str:
    """The logged tag of statistic ``stat`` in (0-based) ``layer``."""
    return f"attn/{stat}/layer_{layer}"


def layers(runs: list[RunInfo]) -> list[int]:
    """The (0-based) layers the runs logged attention statistics for."""
    return sorted({layer for per_run in attention_layers(runs).values() for layer in per_run})


def first_evaluation(info: RunInfo) -> float | None:
    """The step of the run's first evaluation with attention statistics."""
    curve = info.curve(tag("entropy", 0))
    return None if curve is None else float(curve[0][0])


def end_of_training(info: RunInfo) -> float | None:
    """The run's last step (its ``max_steps``)."""
    return None if info.max_steps is None else float(info.max_steps)


Moment = tuple[str, Callable[[RunInfo], float | None]]
"""(header, the step of a run at which a statistic is read)."""
MOMENTS: tuple[Moment, ...] = (
    ("first evaluation", first_evaluation),
    ("plateau start", plateau_start),
    ("plateau end", plateau_end),
    ("end of training", end_of_training),
)


def moment_cells(runs: list[RunInfo], logged: str, moments: Sequence[Moment]) -> list[str]:
    """One table row's cells: the logged statistic at each moment of each seed's own run."""
    return [
        stat_text(per_seed(runs, lambda i, m=moment: value_at(i, logged, m(i))), ".2f")
        for _, moment in moments
    ]


def name_grouping(runs: list[RunInfo]) -> Verdict:
    """Does name->name attention in layer 0 end above its first evaluation (the paper's name grouping)?"""
    name_to_name = tag("name_to_name", 0)
    return compare(
        per_seed(runs, lambda i: value_at(i, name_to_name, end_of_training(i))),
        per_seed(runs, lambda i: value_at(i, name_to_name, first_evaluation(i))),
        "higher",
    )


def reference_runs(results: Path) -> list[RunInfo]:
    """The archived quickstart runs that logged attention statistics (the reference runs of §2)."""
    return quickstart.experiment(results).runs(lambda info: bool(layers([info])))


def statistics_table(results: Path) -> str:
    """Every statistic in every layer (0-based) at four moments of each seed's own run."""
    runs = reference_runs(results)
    if not runs:
        return quickstart.experiment(results).missing(
            "None of its runs logged `attn/*` (AttentionStatistics). " + quickstart.HOW
        )
    body = []
    for stat in STATISTICS:
        for layer in layers(runs):
            body.append((stat, str(layer), *moment_cells(runs, tag(stat, layer), MOMENTS)))
    header = ["statistic", "layer", *(name for name, _ in MOMENTS)]
    note = (
        f"\n\nMean ± s.d. (per seed) over {seeds_line(runs)}, each seed at the evaluation nearest its own "
        "phase boundary; layers are 0-based, as the logged tags `attn/<statistic>/layer_<l>`."
    )
    return markdown_table(header, body) + note


def _patched(results: Path) -> dict[int, list[RunInfo]]:
    """Reference step -> the patched runs (start step 0) of every seed."""
    out: dict[int, list[RunInfo]] = {}
    for info in Experiment(results, PATCHING).runs():
        section = info.run.summary.get("attention_patching") or {}
        if section.get("start_step") == 0 and section.get("reference_step") is not None:
            out.setdefault(int(section["reference_step"]), []).append(info)
    return dict(sorted(out.items()))


def patching_table(results: Path) -> str:
    """Fig. 3 middle: final loss and plateau end when training with the reference's step-R patterns."""
    patched = _patched(results)
    if not patched:
        return Experiment(results, PATCHING).missing(HOW_PATCHING)
    body = []
    for ref, runs in patched.items():
        body.append(
            (
                str(ref),
                stat_text(per_seed(runs, final("val/attr_loss")), ".3f"),
                stat_text(per_seed(runs, plateau_end), ".0f"),
            )
        )
    unpatched = reference_runs(results)
    body.append(
        (
            "unpatched (the reference run)",
            stat_text(per_seed(unpatched, final("val/attr_loss")), ".3f"),
            stat_text(per_seed(unpatched, plateau_end), ".0f"),
        )
    )
    seeds = seeds_line([i for runs in patched.values() for i in runs])
    header = ["reference step", "final `val/attr_loss`", "plateau end (step)"]
    return markdown_table(header, body) + f"\n\nMean ± s.d. (per seed) over {seeds}; patching from step 0."


def verdicts(results: Path) -> dict[str, Verdict]:
    """The claims of §2 on the archived seeds."""
    runs = reference_runs(results)
    out: dict[str, Verdict] = {}
    logged = layers(runs)
    if logged:
        last = logged[-1]
        start, end = plateau_start, plateau_end
        out["attr_to_name_rises"] = compare(
            per_seed(runs, lambda i: value_at(i, tag("attr_to_name", last), end(i))),
            per_seed(runs, lambda i: value_at(i, tag("attr_to_name", last), start(i))),
            "higher",
        )
        out["name_to_name_layer0_rises"] = name_grouping(runs)
    patched = _patched(results)
    if patched:
        final_loss = final("val/attr_loss")
        latest = max(patched)
        out["late_patterns_shorten_plateau"] = compare(
            per_seed(patched[latest], plateau_end), per_seed(runs, plateau_end), "lower"
        )
        if PLATEAU_REFERENCE in patched:
            out["later_references_better"] = compare(
                per_seed(patched[latest], final_loss),
                per_seed(patched[PLATEAU_REFERENCE], final_loss),
                "lower",
            )
        if EARLY_REFERENCE in patched and 0 in patched:
            out["early_patterns_worse_than_untrained"] = compare(
                per_seed(patched[EARLY_REFERENCE], final_loss), per_seed(patched[0], final_loss), "higher"
            )
    return out
