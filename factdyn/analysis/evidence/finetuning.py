"""Generated blocks of REPRODUCTION §5: fine-tuning each seed's quickstart model on new individuals, with and
without replay (``results/finetuning``). Step 0 is the pre-trained model, measured by the fine-tuning run's
validation before its first update."""

from __future__ import annotations

from collections.abc import Callable
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

NAME = "finetuning"
HOW = "Run `bash scripts/campaign_cpu.sh finetuning` (after `quickstart`), then `factdyn evidence`."
OLD_ACC, OLD_LOSS, NEW_ACC = "ft_old/attr_acc", "ft_old/attr_loss", "ft_new/attr_acc"
EARLY_STEPS = (25, 50, 100)
NEW_LEARNING_STEP = 250
MAIN = 125
"""The number of new individuals of the replay comparison (N/16, as 4k new after 64k in the paper)."""
REPLAY = 0.25


def new_and_replay(info: RunInfo) -> tuple[int, float] | None:
    """A fine-tuning run's (new individuals, replay weight); ``None`` for a run that is neither."""
    weight, n_new = info.config.get("data.sampler.init_args.replay_weight"), info.config.get("data.n_new")
    return None if weight is None or n_new is None else (int(n_new), float(weight))


def _settings(results: Path) -> dict[tuple[int, float], list[RunInfo]]:
    """(new individuals, replay weight) -> the runs of every seed."""
    out: dict[tuple[int, float], list[RunInfo]] = {}
    for info in Experiment(results, NAME).runs():
        setting = new_and_replay(info)
        if setting is not None:
            out.setdefault(setting, []).append(info)
    return dict(sorted(out.items(), key=lambda item: (item[0][1] > 0, item[0][0], item[0][1])))


def at_step(tag: str, step: int) -> Callable[[RunInfo], float | None]:
    """The measure "``tag`` as logged at ``step``"."""
    return lambda info: logged_at(info, tag, step)


def table(results: Path) -> str:
    settings = _settings(results)
    if not settings:
        return Experiment(results, NAME).missing(HOW)
    columns = [
        ("old accuracy, step 0 (pre-trained)", at_step(OLD_ACC, 0)),
        *((f"old accuracy, step {s}", at_step(OLD_ACC, s)) for s in EARLY_STEPS),
        ("old accuracy, end", final(OLD_ACC)),
        ("old loss, end", final(OLD_LOSS)),
        (f"new accuracy, step {NEW_LEARNING_STEP}", at_step(NEW_ACC, NEW_LEARNING_STEP)),
        ("new accuracy, end", final(NEW_ACC)),
    ]
    body = []
    for (n_new, weight), runs in settings.items():
        cells = [stat_text(per_seed(runs, fn), ".3f", per_seed_values=False) for _, fn in columns]
        body.append((str(n_new), f"{weight:g}", *cells))
    seeds = seeds_line([i for runs in settings.values() for i in runs])
    header = ["new people", "replay weight", *(name for name, _ in columns)]
    note = (
        f"\n\nMean ± s.d. over {seeds} (`ft_old/*`: the pre-training individuals, `ft_new/*`: the new ones); "
        "every seed's values are in the archive's `scalars.csv.gz`."
    )
    return markdown_table(header, body) + note


START = at_step(OLD_ACC, 0)
EARLY = at_step(OLD_ACC, EARLY_STEPS[-1])


def initial_drop_remains(replayed: list[RunInfo]) -> Verdict:
    """Is the old accuracy at the last early step still below the pre-trained model's (step 0)?"""
    return compare(per_seed(replayed, EARLY), per_seed(replayed, START), "lower")


def verdicts(results: Path) -> dict[str, Verdict]:
    settings = _settings(results)
    out: dict[str, Verdict] = {}
    alone, replayed = settings.get((MAIN, 0.0)), settings.get((MAIN, REPLAY))
    if alone:
        out["finetune_collapse"] = compare(per_seed(alone, EARLY), per_seed(alone, START), "lower")
    without = sorted(n for n, w in settings if w == 0)
    if len(without) >= 2:
        most, fewest = settings[(without[-1], 0.0)], settings[(without[0], 0.0)]
        out["finetune_more_new_worse"] = compare(per_seed(most, EARLY), per_seed(fewest, EARLY), "lower")
    if alone and replayed:
        out["replay_limits_final_loss"] = compare(
            per_seed(replayed, final(OLD_LOSS)), per_seed(alone, final(OLD_LOSS)), "lower"
        )
        out["replay_initial_drop_remains"] = initial_drop_remains(replayed)
        new = at_step(NEW_ACC, NEW_LEARNING_STEP)
        out["replay_slows_new_learning"] = compare(per_seed(replayed, new), per_seed(alone, new), "lower")
    return out
