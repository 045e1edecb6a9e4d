"""What the report's figures and tables are computed from (numbers only, no plotting): mean curves over
seeds, plateau ends and their power-law fits by group, the N × α and N × steps grids, fine-tuning tag
pairs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from factdyn.analysis.fits import PowerLaw, fit_power_law
from factdyn.analysis.report.run_info import N_KEY, RunInfo, hashable, sorted_groups

# (pre-training loss, fine-tuning loss) tag pairs for fine-tuning trajectories, first match wins.
FINETUNE_PAIRS = (
    ("toy/old_loss", "toy/new_loss"),
    ("ft_old/attr_loss", "ft_new/attr_loss"),
    ("val/attr_loss", "new/attr_loss"),
)


def mean_curve(infos: Sequence[RunInfo], tag: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Mean and std over seeds on the steps every run has."""
    curves = [c for c in (info.curve(tag) for info in infos) if c is not None]
    if not curves:
        return None
    steps = sorted(set.intersection(*(set(s.tolist()) for s, _ in curves)))
    if not steps:
        steps, values = curves[0]
        return steps, values, np.zeros_like(values)
    stack = np.stack([np.interp(steps, s, v) for s, v in curves])
    return np.asarray(steps), stack.mean(0), stack.std(0)


def plateau_points(infos: Sequence[RunInfo]) -> list[tuple[int, int, RunInfo]]:
    """(N, plateau end step, run) for every run with both."""
    points = []
    for info in infos:
        phases = info.phases
        if info.n is not None and phases is not None and phases.end_step is not None:
            points.append((info.n, int(phases.end_step), info))
    return points


def determined_by_n(infos: Sequence[RunInfo], key: str) -> bool:
    values: dict[int | None, set] = defaultdict(set)
    for info in infos:
        values[info.n].add(hashable(info.config.get(key)))
    return all(len(v) == 1 for v in values.values())


def plateau_fits(
    infos: Sequence[RunInfo], keys: list[str]
) -> dict[str, tuple[PowerLaw, dict[int, list[int]]]]:
    """Per group of runs equal in everything but N, seed and keys set by N: the power-law fit of mean
    plateau end vs N (only groups with >= 3 distinct N) and the plateau ends by N."""
    # Keys that are a function of N (e.g. steps scaled with N) move with it: they do not split groups.
    other = [k for k in keys if k != N_KEY and not determined_by_n(infos, k)]
    fits = {}
    for name, members in sorted_groups(infos, other):
        by_n: dict[int, list[int]] = defaultdict(list)
        for n, end, _ in plateau_points(members):
            by_n[n].append(end)
        if len(by_n) >= 3 and all(np.mean(v) > 0 for v in by_n.values()):
            ns = sorted(by_n)
            fit = fit_power_law(ns, [float(np.mean(by_n[n])) for n in ns])
            fits[name if other else "all runs"] = (fit, dict(sorted(by_n.items())))
    return fits


def heatmap_tables(infos: Sequence[RunInfo]) -> dict[str, tuple[list, list, np.ndarray]]:
    """``plateau_end``: mean plateau end over N (rows) × α (columns); ``best_alpha``: α with the lowest mean
    final val/attr_loss over N (rows) × max steps (columns). Each only when its grid is at least 2 × 2
    (best α: at least 2 α and 2 cells)."""
    with_alpha = [i for i in infos if i.alpha is not None and i.n is not None]
    # Only population sizes trained with several α (e.g. not a lone uniform run of another experiment).
    alphas_by_n: dict[int, set] = defaultdict(set)
    for info in with_alpha:
        alphas_by_n[info.n].add(info.alpha)
    with_alpha = [i for i in with_alpha if len(alphas_by_n[i.n]) >= 2]
    alphas = sorted({i.alpha for i in with_alpha})
    ns = sorted({i.n for i in with_alpha})
    tables: dict[str, tuple[list, list, np.ndarray]] = {}
    if len(alphas) >= 2 and len(ns) >= 2:
        ends: dict[tuple[int, float], list[int]] = defaultdict(list)
        for n, end, info in plateau_points(with_alpha):
            ends[(n, info.alpha)].append(end)
        values = np.full((len(ns), len(alphas)), np.nan)
        for (n, a), v in ends.items():
            values[ns.index(n), alphas.index(a)] = np.mean(v)
        if np.isfinite(values).sum() >= 2:
            tables["plateau_end"] = (ns, alphas, values)
    steps = sorted({i.max_steps for i in with_alpha if i.max_steps is not None})
    if len(alphas) >= 2 and len(ns) * len(steps) >= 2:
        losses: dict[tuple[int, int], dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
        for info in with_alpha:
            final = info.final("val/attr_loss")
            if final is not None and info.max_steps is not None:
                losses[(info.n, info.max_steps)][info.alpha].append(final)
        values = np.full((len(ns), len(steps)), np.nan)
        for (n, s), by_alpha in losses.items():
            if len(by_alpha) >= 2:
                values[ns.index(n), steps.index(s)] = min(by_alpha, key=lambda a: np.mean(by_alpha[a]))
        if np.isfinite(values).sum() >= 1:
            tables["best_alpha"] = (ns, steps, values)
    return tables


def finetune_pair(info: RunInfo) -> tuple[str, str] | None:
    for old, new in FINETUNE_PAIRS:
        if info.curve(old) is not None and info.curve(new) is not None:
            return old, new
    return None
