"""Generated blocks of REPRODUCTION §1 and §9 (c): the plateau's end against N (paper Fig. 2 right) from
``results/plateau_vs_n`` (one cosine for every N) and ``results/plateau_vs_n_constant`` (a learning rate
that stays at its peak after the warm-up, issue 16 c), per seed, in steps and in exposures per individual,
with the power-law fit and a bootstrap interval of its exponent over seeds
(:mod:`factdyn.analysis.report.plateau_fit`), and the knowledge panel's 20 % and 50 % points per N (§8 a:
is an individual known after the same number of its own exposures whatever N?).

The exponent does not depend on the unit (exposures = steps × batch / N divides by N), so ours is compared
with the paper's 0.81 directly; the paper's prefactor is in steps of 128 sequences, so the table converts
its fit to exposures per individual, marked where N lies outside the paper's range (4k-256k).
"""

from __future__ import annotations

from pathlib import Path

from factdyn.analysis.evidence.archive_view import (
    Experiment,
    markdown_table,
    per_seed,
    seeds_line,
    stat_text,
)
from factdyn.analysis.evidence.knowledge_panel import early_known, half_known
from factdyn.analysis.evidence.verdicts import (
    MIN_SEEDS,
    NOT_REPRODUCED,
    REPRODUCED,
    TOO_FEW,
    Verdict,
    answer,
)
from factdyn.analysis.fits import PAPER_PLATEAU_FIT, PAPER_PLATEAU_N_RANGE, paper_plateau_exposures
from factdyn.analysis.panel import EARLY_LEVEL
from factdyn.analysis.report.plateau_fit import PlateauFit, plateau_fit
from factdyn.analysis.report.run_info import RunInfo

NAME = "plateau_vs_n"
CONSTANT = "plateau_vs_n_constant"
EXPERIMENTS = (NAME, CONSTANT)


def how(name: str) -> str:
    return f"Run `bash scripts/campaign_cpu.sh {name}`, then `factdyn evidence`."


def fit(results: Path, name: str = NAME) -> PlateauFit | None:
    """The fit over every archived run of the experiment (they differ only in N and the seed)."""
    runs = Experiment(results, name).runs()
    return plateau_fit(runs) if runs else None


def table(results: Path, name: str = NAME) -> str:
    found = fit(results, name)
    if found is None:
        return Experiment(results, name).missing(how(name) + " (a fit needs three values of N)")
    by_n: dict[int, list[RunInfo]] = {}
    for info in Experiment(results, name).runs():
        if info.n is not None:
            by_n.setdefault(info.n, []).append(info)
    lo, hi = PAPER_PLATEAU_N_RANGE
    body = []
    for n, ends in found.ends.items():
        exposures = found.exposures.get(n)
        paper = float(paper_plateau_exposures(n))
        outside = "" if lo <= n <= hi else " (extrapolated)"
        body.append(
            (
                f"{n:,}",
                str(len(ends.values)),
                ends.format(".0f"),
                exposures.format(".3g") if exposures is not None else "–",
                f"{paper:.3g}{outside}",
                stat_text(per_seed(by_n.get(n, []), early_known()), ".3g"),
                stat_text(per_seed(by_n.get(n, []), half_known()), ".3g"),
            )
        )
    header = [
        "N",
        "seeds",
        "plateau end (steps; per seed)",
        "exposures per individual at the plateau end",
        "paper's fit in exposures",
        f"{EARLY_LEVEL * 100:.0f} % point of the knowledge panel (exposures)",
        "50 % point (exposures)",
    ]
    a, b, _ = PAPER_PLATEAU_FIT
    interval = found.exponent_interval
    spread = (
        "one seed per N: no interval"
        if interval is None
        else f"{interval.level:.0%} bootstrap interval [{interval.low:.2f}, {interval.high:.2f}] over "
        f"{interval.n_resamples} resamples of the seeds"
    )
    runs = Experiment(results, name).runs()
    note = (
        f"\n\nFit: plateau end = {found.fit.prefactor:.3g} · N^{found.fit.exponent:.2f} steps of batch "
        f"{found.batch_size or 'mixed'} (R² = {found.fit.r2:.3f}; exponent {spread}); the paper: {a} · N^{b} "
        f"steps of batch 128. Mean ± s.d. over {seeds_line(runs)}. {EARLY_LEVEL * 100:.0f} % and 50 % "
        "points: the exposures at which P(known | exposures) over the run's knowledge panel reaches that "
        f"level (§8; – when it never does: the runs stop once the held-out accuracy reaches {EARLY_LEVEL:g}, "
        "and without a panel)."
    )
    return markdown_table(header, body) + note


def verdicts(results: Path) -> dict[str, Verdict]:
    """``plateau_vs_n`` and ``plateau_vs_n_constant``: reproduced when every N has at least
    :data:`MIN_SEEDS` seeds and the exponent's bootstrap interval holds the paper's 0.81."""
    out: dict[str, Verdict] = {}
    for name in EXPERIMENTS:
        found = fit(results, name)
        if found is not None:
            out[name] = _exponent_verdict(found)
    across = panel_across_n(results)
    if across is not None:
        out[PANEL_ACROSS_N] = across
    return out


PANEL_ACROSS_N = "panel_across_n"
"""§8 (a)'s verdict key: is an individual known after more, or fewer, of its own exposures at the largest N
than at the smallest (the constant-lr sweep, where N does not change the learning rate at the plateau)?"""


def panel_across_n(results: Path) -> Verdict | None:
    """The :data:`~factdyn.analysis.panel.EARLY_LEVEL` point of the largest N against the smallest N's,
    per seed, in ``plateau_vs_n_constant`` (its runs stop before most panels reach 50 %); ``None`` without
    panels at two values of N."""
    by_n: dict[int, list[RunInfo]] = {}
    for info in Experiment(results, CONSTANT).runs():
        if info.n is not None and early_known()(info) is not None:
            by_n.setdefault(info.n, []).append(info)
    if len(by_n) < 2:
        return None
    low, high = min(by_n), max(by_n)
    return answer(per_seed(by_n[high], early_known()), per_seed(by_n[low], early_known()), "fewer", "more")


def _exponent_verdict(found: PlateauFit) -> Verdict:
    fewest = min(len(stat.values) for stat in found.ends.values())
    b = PAPER_PLATEAU_FIT[1]
    interval = found.exponent_interval
    if fewest < MIN_SEEDS or interval is None:
        return Verdict(TOO_FEW, f"{fewest} seed(s) at some N, {MIN_SEEDS} needed")
    holds = interval.low <= b <= interval.high
    detail = (
        f"exponent {found.fit.exponent:.2f}, {interval.level:.0%} interval [{interval.low:.2f}, "
        f"{interval.high:.2f}] {'holds' if holds else 'excludes'} the paper's {b}; N = "
        f"{min(found.ends):,} to {max(found.ends):,}"
    )
    return Verdict(REPRODUCED if holds else NOT_REPRODUCED, detail)
