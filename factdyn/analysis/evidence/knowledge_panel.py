"""Generated blocks of REPRODUCTION §8 (beyond the paper): when is an individual learned, counted in its own
exposures? From the knowledge panels (``panel.csv.gz``) of the archived runs: the quickstart and the
distributions (uniform against imbalanced samplers) and the fine-tuning runs (new individuals after
pre-training against the first ones).

The measure is the **50 % point**: the exposure count at which P(known | exposures), pooled over the
panel's (evaluation, individual) points, first reaches one half (:func:`factdyn.dynamics.panel.crossing`),
for the whole panel, its most frequent bucket (``head``: bucket 0, the top Zipf decile, the warm-up subset)
and its least frequent one (``tail``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from factdyn import run_layout
from factdyn.analysis.evidence import distributions, finetuning
from factdyn.analysis.evidence.archive_view import (
    Column,
    Experiment,
    markdown_table,
    per_seed,
    row_cells,
    seeds_line,
    stat_text,
)
from factdyn.analysis.evidence.verdicts import Verdict, answer
from factdyn.analysis.panel import PanelSummary, read_run_panel, select, summarize
from factdyn.analysis.report.run_info import RunInfo

HOW = "Archived runs carry a panel when they were trained with `panel.size` > 0 (the quickstart's config)."
NO_REPLAY = 0.0
"""The fine-tuning runs of question (c): new individuals alone, so their exposures are this run's only."""


@lru_cache(maxsize=256)
def _summary(panel_file: Path, mtime_ns: int, role: str | None) -> PanelSummary | None:
    table = read_run_panel(panel_file.parent)
    if table is None:
        return None
    if role is not None:
        table = select(table, role=role)
        if not len(table):
            return None
    return summarize(table)


def panel_summary(info: RunInfo, role: str | None = None) -> PanelSummary | None:
    """The run's panel in numbers (of one ``role`` only, when given); ``None`` without a panel."""
    path = info.run.path / run_layout.PANEL
    if not path.is_file():
        return None
    return _summary(path, path.stat().st_mtime_ns, role)


def panel_value(field: str, role: str | None = None) -> Callable[[RunInfo], float | None]:
    """A run's :class:`PanelSummary` ``field`` (of one ``role``'s rows, when given); ``None`` without a
    panel."""

    def value(info: RunInfo) -> float | None:
        found = panel_summary(info, role)
        return None if found is None else getattr(found, field)

    return value


def half_known(role: str | None = None) -> Callable[[RunInfo], float | None]:
    """The run's 50 % point (of one ``role``'s rows, when given)."""
    return panel_value("half_known", role)


def early_known(role: str | None = None) -> Callable[[RunInfo], float | None]:
    """The run's point of :data:`~factdyn.analysis.panel.EARLY_LEVEL` (20 %; of one ``role``'s rows, when
    given): what the N sweeps, which stop at 20 % accuracy, all reach."""
    return panel_value("early_known", role)


def _bucket(which: str) -> Callable[[RunInfo], float | None]:
    """The 50 % point of the panel's ``head`` (bucket 0) or ``tail`` (last bucket); ``None`` for one
    bucket."""

    def value(info: RunInfo) -> float | None:
        found = panel_summary(info)
        if found is None or not found.half_known_by_bucket:
            return None
        buckets = sorted(found.half_known_by_bucket)
        return found.half_known_by_bucket[buckets[0] if which == "head" else buckets[-1]]

    return value


def _with_panel(runs: list[RunInfo]) -> list[RunInfo]:
    return [info for info in runs if panel_summary(info) is not None]


def sampler_settings(results: Path) -> dict[str, list[RunInfo]]:
    """§3's rows (uniform and every sampler), keeping the runs that have a panel."""
    rows = {label: _with_panel(runs) for label, runs in distributions.settings(results).items()}
    return {label: runs for label, runs in rows.items() if runs}


SAMPLER_COLUMNS: tuple[Column, ...] = (
    ("50 % point, whole panel (exposures)", half_known(), ".3g", True),
    ("50 % point, head bucket", _bucket("head"), ".3g", True),
    ("50 % point, tail bucket", _bucket("tail"), ".3g", False),
    ("half of the facts known for good (exposures)", panel_value("median_first_known"), ".3g", False),
    ("known at the end (fraction of facts)", panel_value("final_known"), ".3f", False),
)


def samplers_table(results: Path) -> str:
    rows = sampler_settings(results)
    if not rows:
        return Experiment(results, distributions.NAME).missing(HOW)
    body = []
    for label, runs in rows.items():
        cells = row_cells(runs, SAMPLER_COLUMNS)
        body.append((label, str(len(runs)), *cells))
    header = ["sampler", "seeds with a panel", *(name for name, *_ in SAMPLER_COLUMNS)]
    seeds = seeds_line([i for runs in rows.values() for i in runs])
    note = (
        f"\n\nMean ± s.d. over {seeds} (each seed's value in brackets; `–`: one bucket only, or never "
        "reached). Exposures are the individual's own training biographies up to the evaluation."
    )
    return markdown_table(header, body) + note


def _finetuning_runs(results: Path) -> list[RunInfo]:
    def no_replay(info: RunInfo) -> bool:
        weight = info.config.get("data.sampler.init_args.replay_weight")
        return weight is not None and float(weight) == NO_REPLAY

    return [i for i in Experiment(results, finetuning.NAME).runs(no_replay) if panel_summary(i, "new")]


def _by_new(runs: list[RunInfo]) -> dict[int, list[RunInfo]]:
    out: dict[int, list[RunInfo]] = {}
    for info in runs:
        out.setdefault(int(info.config["data.n_new"]), []).append(info)
    return dict(sorted(out.items()))


def _pretraining_runs(results: Path) -> list[RunInfo]:
    """The quickstart runs with a panel: the first individuals, which question (c) compares against."""
    return _with_panel(Experiment(results, distributions.UNIFORM_SOURCE).runs())


def finetuning_table(results: Path) -> str:
    first = _pretraining_runs(results)
    runs = _finetuning_runs(results)
    if not runs:
        return Experiment(results, finetuning.NAME).missing(HOW)
    body = [
        ("pre-training (the first individuals)", str(len(first)), stat_text(per_seed(first, half_known())))
    ]
    for n_new, group in _by_new(runs).items():
        cells = stat_text(per_seed(group, half_known("new")))
        body.append((f"fine-tuning: {n_new} new individuals, no replay", str(len(group)), cells))
    header = ["run", "seeds with a panel", "50 % point (exposures)"]
    note = (
        f"\n\nMean ± s.d. over {seeds_line([*first, *runs])} (each seed's value in brackets). Fine-tuning "
        "counts the new individuals' exposures in the fine-tuning run; each starts from its seed's "
        "quickstart model (`results/quickstart`)."
    )
    return markdown_table(header, body) + note


def verdicts(results: Path) -> dict[str, Verdict]:
    """The answers to issue 20's questions (b) and (c) that the archive supports."""
    out: dict[str, Verdict] = {}
    rows = sampler_settings(results)
    uniform = distributions.measure(rows, distributions.UNIFORM, half_known())
    if uniform:
        for key, label in (
            ("panel_head_zipf04", distributions.zipf(0.4)),
            ("panel_head_zipf08", distributions.zipf(0.8)),
            ("panel_head_warmup", distributions.labelled(rows, "warm-up")),
        ):
            if label in rows:
                out[key] = answer(
                    distributions.measure(rows, label, _bucket("head")), uniform, "earlier", "later"
                )
    first = per_seed(_pretraining_runs(results), half_known())
    groups = _by_new(_finetuning_runs(results))
    if first and groups:
        main = groups.get(finetuning.MAIN, next(iter(groups.values())))
        out["panel_new_after_pretraining"] = answer(per_seed(main, half_known("new")), first, "fewer", "more")
    return out
