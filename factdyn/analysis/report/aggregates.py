"""What the report's figures and tables are computed from (numbers only, no plotting): plateau ends, the
N × α and N × steps grids, the fine-tuning tags. Seed groups and their curves are :mod:`.seeds`, the
plateau-vs-N fits :mod:`.plateau_fit`."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from factdyn.analysis.report.run_info import RunInfo, hashable

ATTENTION_TAG = re.compile(r"^attn/(?P<stat>[a-z_]+)/layer_(?P<layer>\d+)$")
STATISTICS = {
    "name_to_name": "name → name (at the last name token)",
    "attr_to_name": "attribute → name",
    "attr_to_text": "attribute → text",
    "entropy": "normalised attention entropy",
}
"""The statistics ``AttentionStatistics`` logs, in the paper's order (Fig. F), with their panel titles."""


@dataclass(frozen=True)
class FinetuneTags:
    """The scalars of a fine-tuning run: loss and accuracy on the pre-training ("old") individuals and on
    the individuals it teaches ("new")."""

    old_loss: str
    new_loss: str
    old_acc: str
    new_acc: str


FINETUNE_TAGS = (
    FinetuneTags("toy/old_loss", "toy/new_loss", "toy/old_acc", "toy/new_acc"),
    FinetuneTags("ft_old/attr_loss", "ft_new/attr_loss", "ft_old/attr_acc", "ft_new/attr_acc"),
    FinetuneTags("val/attr_loss", "new/attr_loss", "val/attr_acc", "new/attr_acc"),
)
"""Fine-tuning tag sets, first match wins: the toy memory; ``configs/experiments/finetune.yaml``
(``model.eval_prefixes``); a fine-tuning run that kept the default prefixes."""


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


def finetune_tags(info: RunInfo) -> FinetuneTags | None:
    """The first :data:`FINETUNE_TAGS` whose two losses the run logged, or ``None`` (not fine-tuning)."""
    for tags in FINETUNE_TAGS:
        if info.curve(tags.old_loss) is not None and info.curve(tags.new_loss) is not None:
            return tags
    return None


def attention_layers(runs: Sequence[RunInfo]) -> dict[str, list[int]]:
    """Statistic -> the (0-based) layers any of the runs logged it for, statistics in the paper's order
    first."""
    found: dict[str, set[int]] = defaultdict(set)
    for run in runs:
        for tag in run.scalars:
            match = ATTENTION_TAG.match(tag)
            if match:
                found[match["stat"]].add(int(match["layer"]))
    order = [s for s in STATISTICS if s in found] + sorted(s for s in found if s not in STATISTICS)
    return {s: sorted(found[s]) for s in order}
