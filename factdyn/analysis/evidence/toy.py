"""Generated blocks of REPRODUCTION §6: the toy associative memory fine-tuned on new pairs, with and without
replay (``results/toy``: per seed, the pre-training run and one fine-tuning run per setting)."""

from __future__ import annotations

from pathlib import Path

from factdyn.analysis.evidence.archive_view import (
    Experiment,
    markdown_table,
    per_seed,
    seeds_line,
    stat_text,
)
from factdyn.analysis.evidence.verdicts import Verdict, compare
from factdyn.analysis.report.measures import final, logged_at
from factdyn.analysis.report.run_info import RunInfo

NAME = "toy"
HOW = "Run `bash scripts/campaign_cpu.sh toy`, then `factdyn evidence`."
EARLY_FRACTION = 0.1
"""The share of fine-tuning in which the table looks for the old accuracy's early dip."""
REPLAY_SETTING = (128, 0.125)
"""(new pairs, replay weight) of the replay verdict: the middle of the replay weights, against no replay."""


def _finetuning(results: Path) -> dict[tuple[int, float], list[RunInfo]]:
    """(new pairs, replay weight) -> the fine-tuning runs of every seed, in order of the settings."""
    out: dict[tuple[int, float], list[RunInfo]] = {}
    for info in Experiment(results, NAME).runs(lambda i: i.config.get("data.stage") == "finetune"):
        key = (int(info.config["data.n_new"]), float(info.config["data.replay_weight"]))
        out.setdefault(key, []).append(info)
    return dict(sorted(out.items(), key=lambda item: (item[0][1] > 0, item[0][0], -item[0][1])))


def _at_start(info: RunInfo) -> float | None:
    return logged_at(info, "toy/old_acc", 0)


def _early_min(info: RunInfo) -> float | None:
    curve = info.curve("toy/old_acc")
    if curve is None:
        return None
    steps, values = curve
    early = values[(steps > 0) & (steps <= steps[-1] * EARLY_FRACTION)]
    return float(early.min()) if len(early) else None


def table(results: Path) -> str:
    settings = _finetuning(results)
    if not settings:
        return Experiment(results, NAME).missing(HOW)
    body = []
    for (n_new, weight), runs in settings.items():
        body.append(
            (
                str(n_new),
                f"{weight:g}",
                stat_text(per_seed(runs, _at_start), ".3f"),
                stat_text(per_seed(runs, _early_min), ".3f"),
                stat_text(per_seed(runs, final("toy/old_acc")), ".3f"),
                stat_text(per_seed(runs, final("toy/new_acc")), ".3f"),
            )
        )
    seeds = seeds_line([i for runs in settings.values() for i in runs])
    header = [
        "new pairs",
        "replay weight",
        "old accuracy at step 0",
        f"lowest old accuracy in the first {EARLY_FRACTION:.0%} of steps",
        "old accuracy at the end",
        "new accuracy at the end",
    ]
    return markdown_table(header, body) + f"\n\nMean ± s.d. (per seed) over {seeds}."


def verdicts(results: Path) -> dict[str, Verdict]:
    settings = _finetuning(results)
    out: dict[str, Verdict] = {}
    old_end = final("toy/old_acc")
    no_replay = sorted(n for n, w in settings if w == 0)
    if len(no_replay) >= 2:
        out["toy_more_new_more_forgetting"] = compare(
            per_seed(settings[(no_replay[-1], 0.0)], old_end),
            per_seed(settings[(no_replay[0], 0.0)], old_end),
            "lower",
        )
    replayed, alone = settings.get(REPLAY_SETTING), settings.get((REPLAY_SETTING[0], 0.0))
    if replayed and alone:
        out["toy_replay_protects"] = compare(per_seed(replayed, old_end), per_seed(alone, old_end), "higher")
    return out
