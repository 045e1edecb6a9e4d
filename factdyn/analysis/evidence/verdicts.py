"""The rule every verdict of REPRODUCTION.md follows, applied to per-seed numbers.

A comparison (the paper says condition A gives a lower, or higher, value than condition B) is
**reproduced** only when

1. it was measured on at least :data:`MIN_SEEDS` seeds, each seed giving both A and B (paired: the same
   seed sets the population, the data stream and the initialisation, so A and B differ only in the
   condition);
2. the difference A − B has the predicted sign in every seed; and
3. the mean difference is larger than the seed spread: the larger of the two conditions' standard
   deviations over seeds.

It is **reversed** when 2 and 3 hold with the opposite sign, **not reproduced** otherwise, and **too few
seeds** when 1 fails. A property of single runs (the paper says every run shows X) is reproduced when at least
:data:`MIN_SEEDS` seeds were measured and every one shows it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

MIN_SEEDS = 3
REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
REVERSED = "reversed"
TOO_FEW = "too few seeds"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim and the numbers it rests on, as one line of text."""

    outcome: str
    detail: str

    def text(self) -> str:
        return f"**{self.outcome}** ({self.detail})"


def _sd(values: list[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def compare(
    a: Mapping[int, float | None], b: Mapping[int, float | None], expect: str, fmt: str = ".3g"
) -> Verdict:
    """Judge "A is ``expect`` than B" (``expect``: ``"lower"`` or ``"higher"``) on per-seed values."""
    if expect not in ("lower", "higher"):
        raise ValueError(f"expect must be 'lower' or 'higher', got {expect!r}")
    seeds = sorted(s for s in a if s in b and a[s] is not None and b[s] is not None)
    if len(seeds) < MIN_SEEDS:
        return Verdict(TOO_FEW, f"{len(seeds)} paired seed(s), {MIN_SEEDS} needed")
    diffs = [float(a[s]) - float(b[s]) for s in seeds]
    sign = -1.0 if expect == "lower" else 1.0
    agree = sum(1 for d in diffs if sign * d > 0)
    oppose = sum(1 for d in diffs if sign * d < 0)
    mean = float(np.mean(diffs))
    spread = max(_sd([float(a[s]) for s in seeds]), _sd([float(b[s]) for s in seeds]))
    detail = (
        f"{agree}/{len(seeds)} seeds in the predicted direction; mean difference {mean:+{fmt}} against a "
        f"seed spread of {spread:{fmt}}"
    )
    if agree == len(seeds) and abs(mean) > spread:
        return Verdict(REPRODUCED, detail)
    if oppose == len(seeds) and abs(mean) > spread:
        return Verdict(REVERSED, detail)
    return Verdict(NOT_REPRODUCED, detail)


NO_DIFFERENCE = "no difference beyond the seed spread"


def answer(a: Mapping[int, float | None], b: Mapping[int, float | None], lower: str, higher: str) -> Verdict:
    """The answer to an open question "is A lower or higher than B?" under the same rule: ``lower`` where
    "A is lower" would be reproduced, ``higher`` where it would be reversed, :data:`NO_DIFFERENCE` where
    neither holds, and too few seeds below :data:`MIN_SEEDS`."""
    found = compare(a, b, "lower")
    if found.outcome == REVERSED:
        detail = compare(a, b, "higher").detail.replace("in the predicted direction", higher)
        return Verdict(higher, detail)
    outcome = {REPRODUCED: lower, NOT_REPRODUCED: NO_DIFFERENCE}.get(found.outcome, found.outcome)
    return Verdict(outcome, found.detail.replace("in the predicted direction", lower))


def _count(observed: Mapping[int, bool | None]) -> tuple[str, str]:
    """(outcome, "k/n seeds" or the shortfall) of one property over the seeds that can tell."""
    measured = [v for v in observed.values() if v is not None]
    if len(measured) < MIN_SEEDS:
        return TOO_FEW, f"{len(measured)} seed(s), {MIN_SEEDS} needed"
    shown = sum(1 for v in measured if v)
    return (REPRODUCED if shown == len(measured) else NOT_REPRODUCED), f"{shown}/{len(measured)} seeds"


def holds_in_every_seed(observed: Mapping[int, bool | None], what: str) -> Verdict:
    """Judge a property of single runs: ``observed`` is seed -> whether the run shows it (``None``: the run
    cannot tell)."""
    outcome, counted = _count(observed)
    return Verdict(outcome, counted if outcome == TOO_FEW else f"{what} in {counted}")


def holds_in_each(observed: Mapping[str, Mapping[int, bool | None]]) -> Verdict:
    """Judge a property that every one of several settings must show, each by :func:`holds_in_every_seed`'s
    rule: reproduced only when every setting is, too few seeds when any setting has too few."""
    counted = {label: _count(per_seed) for label, per_seed in observed.items()}
    detail = "; ".join(f"{label}: {text}" for label, (_, text) in counted.items())
    outcomes = {outcome for outcome, _ in counted.values()}
    if TOO_FEW in outcomes:
        return Verdict(TOO_FEW, detail)
    return Verdict(REPRODUCED if outcomes == {REPRODUCED} else NOT_REPRODUCED, detail)
