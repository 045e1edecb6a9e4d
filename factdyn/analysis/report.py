"""``factdyn report``: the paper's figures (PNG) and a Markdown table from run directories.

    factdyn report logs/sweeps/plateau_vs_n_quickstart [more dirs...] --out reports/plateau_vs_n

Reads only ``summary.json``, ``config.yaml`` and TensorBoard events (no training code). Runs are grouped by
what varies between them (read from each run's saved ``config.yaml``); every figure is drawn only when its
runs exist:

================== ================================================================ ========================
file               what                                                             needs
================== ================================================================ ========================
curves.png         attribute loss (log) and accuracy vs steps, baseline (Fig. 2 L/M) any run with val curves
plateau_vs_n.png   plateau end vs N, log–log, fitted power law (Fig. 2 right)       >= 3 N with a plateau end
heatmaps.png       plateau end over N × α; best α over N × steps (Fig. 4 L/M)       >= 2 N (or steps) × 2 α
hallucinations.png seen vs unseen loss, accuracy, max prob., entropy (Fig. M)       runs with unseen/ curves
finetuning.png     fine-tuning loss vs pre-training loss trajectories (Fig. 5 M/R)  runs with old/new curves
patching.png       attribute loss vs steps per reference step (Fig. 3 middle)       attention-patching runs
attention.png      name→name, attribute→name, attribute→text vs steps (Fig. 3 R)    attention statistics
================== ================================================================ ========================
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from factdyn.analysis.fits import PAPER_PLATEAU_FIT, PowerLaw, RunPhases, fit_power_law, run_phases
from factdyn.analysis.patching import format_grid, patching_grid
from factdyn.analysis.runs import Run, find_runs

# Config keys that differ between runs without being an experimental factor.
IGNORED_KEY_PREFIXES = ("trainer.logger", "ckpt_path", "data.seed", "config")
SEED_KEY = "seed_everything"
N_KEY = "data.n_individuals"
STEPS_KEY = "trainer.max_steps"
# (pre-training loss, fine-tuning loss) tag pairs for fine-tuning trajectories, first match wins.
FINETUNE_PAIRS = (
    ("toy/old_loss", "toy/new_loss"),
    ("ft_old/attr_loss", "ft_new/attr_loss"),
    ("val/attr_loss", "new/attr_loss"),
)
SEEN_UNSEEN = (
    ("attr_loss", "attribute loss (nats)"),
    ("attr_acc", "attribute accuracy"),
    ("max_prob", "max probability"),
    ("entropy", "entropy (nats)"),
)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys (lists and scalars are leaves)."""
    if not isinstance(tree, dict):
        return {prefix: tree} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


@dataclass
class RunInfo:
    """A run with its flattened config and cached scalars."""

    run: Run
    config: dict[str, Any]
    _scalars: dict[str, list[tuple[int, float]]] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, run: Run) -> RunInfo:
        config_file = run.path / "config.yaml"
        config = flatten(yaml.safe_load(config_file.read_text()) or {}) if config_file.exists() else {}
        return cls(run=run, config=config)

    @property
    def scalars(self) -> dict[str, list[tuple[int, float]]]:
        if self._scalars is None:
            self._scalars = self.run.scalars()
        return self._scalars

    def curve(self, tag: str) -> tuple[np.ndarray, np.ndarray] | None:
        points = self.scalars.get(tag)
        if not points:
            return None
        steps, values = zip(*points, strict=True)
        return np.asarray(steps), np.asarray(values, dtype=float)

    @property
    def n(self) -> int | None:
        value = self.config.get(N_KEY, self.run.summary.get("n_individuals"))
        return None if value is None else int(value)

    @property
    def seed(self) -> int | None:
        return self.config.get(SEED_KEY, self.run.summary.get("seed"))

    @property
    def max_steps(self) -> int | None:
        value = self.config.get(STEPS_KEY, self.run.summary.get("steps"))
        return None if value is None or value < 0 else int(value)

    @property
    def batch_size(self) -> int | None:
        return self.config.get("data.batch_size")

    @property
    def alpha(self) -> float | None:
        """The sampler's power-law exponent (uniform = 0), or ``None`` for other samplers."""
        for key, value in self.config.items():
            if key.startswith("data.sampler") and key.endswith(".alpha"):
                return float(value)
        class_path = self.config.get("data.sampler.class_path", self.config.get("data.sampler"))
        if class_path is None or str(class_path).endswith("Uniform"):
            return 0.0
        return None

    @property
    def baseline(self) -> float | None:
        value = self.run.summary.get("baseline_attr_loss")
        if value is None and self.scalars.get("baseline/attr_loss"):
            value = self.scalars["baseline/attr_loss"][-1][1]
        return value

    def final(self, tag: str) -> float | None:
        value = self.run.summary.get("final", {}).get(tag)
        if value is None and self.scalars.get(tag):
            value = self.scalars[tag][-1][1]
        return value

    @property
    def phases(self) -> RunPhases | None:
        return run_phases(self.run, self.scalars)


def load_runs(paths: Iterable[str | Path]) -> list[RunInfo]:
    """Every run under the given paths (a run directory or a folder of runs), each once."""
    seen: dict[Path, Run] = {}
    for path in paths:
        for run in find_runs(path):
            seen.setdefault(run.path.resolve(), run)
    return [RunInfo.load(run) for _, run in sorted(seen.items())]


def varying_keys(infos: Sequence[RunInfo]) -> list[str]:
    """Config keys whose values differ between runs (factors), seed excluded, in first-seen order."""
    keys: dict[str, None] = {}
    for info in infos:
        keys.update(dict.fromkeys(info.config))
    out = []
    for key in keys:
        if key == SEED_KEY or key.startswith(IGNORED_KEY_PREFIXES):
            continue
        if len({hashable(info.config.get(key)) for info in infos}) > 1:
            out.append(key)
    return out


MAX_LABEL = 40
"""Longer legend labels (many factors, or callback lists) fall back to the run's name."""


def label(info: RunInfo, keys: Sequence[str]) -> str:
    parts = [
        f"{k.rsplit('.', 1)[-1]}={info.config[k]}"
        for k in keys
        if info.config.get(k) is not None and not isinstance(info.config[k], (list, dict))
    ]
    text = ", ".join(parts)
    return text if text and len(text) <= MAX_LABEL else info.run.path.parent.name


def group_by(infos: Sequence[RunInfo], keys: Sequence[str]) -> dict[tuple, list[RunInfo]]:
    groups: dict[tuple, list[RunInfo]] = defaultdict(list)
    for info in infos:
        groups[tuple(hashable(info.config.get(k)) for k in keys)].append(info)
    return dict(groups)


@dataclass
class Report:
    """What :func:`make_report` wrote: figure files, the Markdown file, and the plateau fits by group."""

    out: Path
    figures: dict[str, Path] = field(default_factory=dict)
    markdown: Path | None = None
    plateau_fits: dict[str, PowerLaw] = field(default_factory=dict)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _mean_curve(infos: Sequence[RunInfo], tag: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
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


def _colours(n: int):
    plt = _pyplot()
    cmap = plt.get_cmap("viridis")
    return [cmap(i / max(n - 1, 1) * 0.9) for i in range(n)]


def _sorted_groups(infos: Sequence[RunInfo], keys: list[str]) -> list[tuple[str, list[RunInfo]]]:
    """(label, runs) per combination of the keys, keeping only keys that vary among these runs."""
    keys = [k for k in keys if len({hashable(i.config.get(k)) for i in infos}) > 1]
    groups = group_by(infos, keys)

    def order(item: tuple[tuple, list[RunInfo]]) -> tuple:
        return tuple((0, v) if isinstance(v, (int, float)) else (1, str(v)) for v in item[0])

    return [(label(members[0], keys), members) for _, members in sorted(groups.items(), key=order)]


def plot_curves(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    runs = [i for i in infos if i.curve("val/attr_loss") is not None]
    if not runs:
        return False
    plt = _pyplot()
    groups = _sorted_groups(runs, keys)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for (name, members), colour in zip(groups, _colours(len(groups)), strict=True):
        seeds = f" ({len(members)} seeds)" if len(members) > 1 else ""
        for ax, tag in ((ax_loss, "val/attr_loss"), (ax_acc, "val/attr_acc")):
            curve = _mean_curve(members, tag)
            if curve is None:
                continue
            steps, mean, std = curve
            ax.plot(steps, mean, color=colour, label=name + seeds)
            if len(members) > 1:
                ax.fill_between(steps, mean - std, mean + std, color=colour, alpha=0.2)
    baselines = {round(b, 4) for b in (i.baseline for i in runs) if b is not None}
    for b in sorted(baselines):
        ax_loss.axhline(b, color="grey", ls="--", lw=1, label=f"no-knowledge baseline {b:.2f}")
    ax_loss.set(yscale="log", xlabel="training step", ylabel="attribute loss (nats, held-out templates)")
    ax_loss.set_title("Attribute loss (Fig. 2 left)")
    ax_acc.set(xlabel="training step", ylabel="attribute accuracy", ylim=(-0.02, 1.02))
    ax_acc.set_title("Attribute accuracy (Fig. 2 middle)")
    ax_loss.legend(fontsize=7)
    ax_acc.legend(fontsize=7)
    _save(fig, path)
    return True


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
    for name, members in _sorted_groups(infos, other):
        by_n: dict[int, list[int]] = defaultdict(list)
        for n, end, _ in plateau_points(members):
            by_n[n].append(end)
        if len(by_n) >= 3 and all(np.mean(v) > 0 for v in by_n.values()):
            ns = sorted(by_n)
            fit = fit_power_law(ns, [float(np.mean(by_n[n])) for n in ns])
            fits[name if other else "all runs"] = (fit, dict(sorted(by_n.items())))
    return fits


def plot_plateau_vs_n(fits: dict[str, tuple[PowerLaw, dict[int, list[int]]]], path: Path) -> bool:
    if not fits:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    all_n = sorted({n for _, by_n in fits.values() for n in by_n})
    for (name, (fit, by_n)), colour in zip(fits.items(), _colours(len(fits)), strict=True):
        ns = np.asarray(sorted(by_n))
        for n in ns:
            ax.scatter([n] * len(by_n[n]), by_n[n], color=colour, s=12, alpha=0.5)
        ax.scatter(ns, [np.mean(by_n[n]) for n in ns], color=colour, s=40, zorder=3)
        grid = np.geomspace(ns.min(), ns.max(), 50)
        prefix = f"{name}: " if len(fits) > 1 else ""
        ax.plot(grid, fit(grid), color=colour, label=f"{prefix}fit {fit.describe()}")
    a, b, r2 = PAPER_PLATEAU_FIT
    grid = np.geomspace(min(all_n), max(all_n), 50)
    ax.plot(grid, a * grid**b, color="grey", ls=":", label=f"paper: {a}·N^{b} (R² = {r2})")
    ax.set(xscale="log", yscale="log", xlabel="number of individuals N", ylabel="plateau end (steps)")
    ax.set_title("Plateau end vs population size (Fig. 2 right)")
    ax.legend(fontsize=7)
    _save(fig, path)
    return True


def _save(fig: Any, path: Path) -> None:
    """Write a figure at the report's resolution and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _pyplot().close(fig)


def _heatmap(ax, fig, rows: list, cols: list, values: np.ndarray, title: str, xlabel: str, ylabel: str, fmt):
    image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
    middle = np.nanmean([np.nanmin(values), np.nanmax(values)])
    ax.set_xticks(range(len(cols)), [str(c) for c in cols])
    ax.set_yticks(range(len(rows)), [str(r) for r in rows])
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if np.isfinite(values[i, j]):
                colour = "white" if values[i, j] < middle else "black"
                ax.text(j, i, fmt(values[i, j]), ha="center", va="center", color=colour, fontsize=8)
    return image


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


def plot_heatmaps(tables: dict[str, tuple[list, list, np.ndarray]], path: Path) -> bool:
    if not tables:
        return False
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 4.2), squeeze=False)
    for ax, (kind, (rows, cols, values)) in zip(axes[0], tables.items(), strict=True):
        if kind == "plateau_end":
            image = _heatmap(
                ax, fig, rows, cols, values, "Plateau end (steps) (Fig. 4 left)", "power-law exponent α",
                "number of individuals N", lambda v: f"{v:.0f}",
            )  # fmt: skip
            fig.colorbar(image, ax=ax, label="plateau end (steps)")
        else:
            image = _heatmap(
                ax, fig, rows, cols, values, "Best α for final attribute loss (Fig. 4 middle)",
                "training steps", "number of individuals N", lambda v: f"{v:g}",
            )  # fmt: skip
            fig.colorbar(image, ax=ax, label="best α")
    _save(fig, path)
    return True


def plot_hallucinations(infos: Sequence[RunInfo], keys: list[str], path: Path, max_groups: int = 4) -> bool:
    runs = [
        i for i in infos if i.curve("unseen/attr_loss") is not None and i.curve("val/attr_loss") is not None
    ]
    if not runs:
        return False
    plt = _pyplot()
    groups = _sorted_groups(runs, keys)[:max_groups]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    for (name, members), colour in zip(groups, _colours(len(groups)), strict=True):
        for ax, (metric, ylabel) in zip(axes, SEEN_UNSEEN, strict=True):
            for split, style, word in (("val", "-", "seen"), ("unseen", "--", "unseen")):
                curve = _mean_curve(members, f"{split}/{metric}")
                if curve is not None:
                    ax.plot(curve[0], curve[1], ls=style, color=colour, label=f"{word}: {name}")
            ax.set(xlabel="training step", ylabel=ylabel)
    baselines = {round(b, 4) for b in (i.baseline for i in runs) if b is not None}
    for b in sorted(baselines):
        axes[0].axhline(b, color="grey", lw=1, ls=":", label=f"baseline {b:.2f}")
    axes[0].set_yscale("log")
    axes[0].set_title("Seen vs unseen individuals (Fig. M)")
    axes[0].legend(fontsize=7)
    _save(fig, path)
    return True


def finetune_pair(info: RunInfo) -> tuple[str, str] | None:
    for old, new in FINETUNE_PAIRS:
        if info.curve(old) is not None and info.curve(new) is not None:
            return old, new
    return None


def plot_finetuning(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    runs = [i for i in infos if finetune_pair(i) is not None]
    if not runs:
        return False
    plt = _pyplot()
    groups = _sorted_groups(runs, keys)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for (name, members), colour in zip(groups, _colours(len(groups)), strict=True):
        old, new = finetune_pair(members[0])
        x, y = _mean_curve(members, old), _mean_curve(members, new)
        if x is None or y is None:
            continue
        steps = np.intersect1d(x[0], y[0])
        xs = np.interp(steps, x[0], x[1])
        ys = np.interp(steps, y[0], y[1])
        ax.plot(xs, ys, color=colour, marker=".", ms=3, label=name)
        ax.scatter(xs[:1], ys[:1], color="grey", s=40, zorder=3)
    old, new = finetune_pair(runs[0])
    ax.set(
        xscale="log",
        yscale="log",
        xlabel=f"pre-training loss ({old}, nats)",
        ylabel=f"fine-tuning loss ({new}, nats)",
    )
    ax.set_title("Fine-tuning trajectories (Fig. 5 middle/right); grey: start")
    ax.legend(fontsize=7)
    _save(fig, path)
    return True


def plot_patching(infos: Sequence[RunInfo], path: Path) -> bool:
    patched = [
        i for i in infos if "attention_patching" in i.run.summary and i.curve("val/attr_loss") is not None
    ]
    if not patched:
        return False
    plt = _pyplot()
    first_start = min(int(i.run.summary["attention_patching"]["start_step"]) for i in patched)
    patched = [i for i in patched if int(i.run.summary["attention_patching"]["start_step"]) == first_start]
    by_ref: dict[int, list[RunInfo]] = defaultdict(list)
    for info in patched:
        by_ref[int(info.run.summary["attention_patching"]["reference_step"])].append(info)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for (ref, members), colour in zip(sorted(by_ref.items()), _colours(len(by_ref)), strict=True):
        steps, mean, _ = _mean_curve(members, "val/attr_loss")
        ax.plot(steps, mean, color=colour, label=f"reference step {ref}")
    # The unpatched reference: a run without patching on the same population size and step budget.
    same = {(i.n, i.max_steps) for i in patched}
    for info in infos:
        if (
            "attention_patching" not in info.run.summary
            and (info.n, info.max_steps) in same
            and info.curve("val/attr_loss") is not None
        ):
            steps, values = info.curve("val/attr_loss")
            ax.plot(steps, values, color="black", ls="--", label="unpatched")
            break
    ax.set(yscale="log", xlabel="training step", ylabel="attribute loss (nats)")
    ax.set_title(f"Attention patching from step {first_start} (Fig. 3 middle)")
    ax.legend(fontsize=7)
    _save(fig, path)
    return True


def plot_attention(infos: Sequence[RunInfo], keys: list[str], path: Path, max_groups: int = 4) -> bool:
    runs = [i for i in infos if i.curve("attn/name_to_name/layer_0") is not None]
    if not runs:
        return False
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    groups = _sorted_groups(runs, keys)[:max_groups]
    for (name, members), colour in zip(groups, _colours(len(groups)), strict=True):
        layers = [
            int(t.rsplit("_", 1)[1]) for t in members[0].scalars if t.startswith("attn/attr_to_name/layer_")
        ]
        last = max(layers) if layers else 0
        panels = (
            ("attn/name_to_name/layer_0", "name → name (layer 1)"),
            (f"attn/attr_to_name/layer_{last}", f"attribute → name (layer {last + 1})"),
            (f"attn/attr_to_text/layer_{last}", f"attribute → text (layer {last + 1})"),
        )
        for ax, (tag, title) in zip(axes, panels, strict=True):
            curve = _mean_curve(members, tag)
            if curve is not None:
                ax.plot(curve[0], curve[1], color=colour, label=name)
                ax.fill_between(curve[0], curve[1] - curve[2], curve[1] + curve[2], color=colour, alpha=0.2)
            ax.set(xlabel="training step", ylabel="total attention", title=title, ylim=(0, 1))
    axes[0].legend(fontsize=7)
    fig.suptitle("Attention circuits (Fig. 3 right)")
    _save(fig, path)
    return True


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def runs_table(infos: Sequence[RunInfo], keys: list[str], root: Path | None) -> list[str]:
    head = ["run", *[k.rsplit(".", 1)[-1] for k in keys], "seed", "steps", "plateau start", "plateau end",
            "knowledge", "exposures at plateau end", "val attr loss", "val attr acc", "unseen attr loss",
            "wall s"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for info in infos:
        phases = info.phases
        exposures = None
        if phases and phases.end_step is not None and info.batch_size and info.n:
            exposures = phases.end_step * info.batch_size / info.n
        name = info.run.path.parent.name if info.run.path.name.startswith("version_") else info.run.path.name
        cells = [
            name,
            *[_fmt(info.config.get(k)) for k in keys],
            _fmt(info.seed),
            _fmt(info.run.summary.get("steps")),
            _fmt(phases.start_step if phases else None),
            _fmt(phases.end_step if phases else None)
            + (" (curve)" if phases and phases.source == "curve" else ""),
            _fmt(phases.knowledge_step if phases else None),
            _fmt(exposures, 3),
            _fmt(info.final("val/attr_loss")),
            _fmt(info.final("val/attr_acc")),
            _fmt(info.final("unseen/attr_loss")),
            _fmt(info.run.summary.get("wall_seconds")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def make_report(paths: Sequence[str | Path], out: str | Path, title: str | None = None) -> Report:
    """Read the runs under ``paths`` and write figures, ``report.md`` and ``report.json`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    infos = load_runs(paths)
    report = Report(out=out)
    if not infos:
        raise SystemExit(
            f"factdyn report: no run directories (summary.json or TensorBoard events) under {paths}"
        )
    keys = varying_keys(infos)
    fits = plateau_fits(infos, keys)
    report.plateau_fits = {name: fit for name, (fit, _) in fits.items()}
    tables = heatmap_tables(infos)
    drawers = {
        "curves": lambda p: plot_curves(infos, keys, p),
        "plateau_vs_n": lambda p: plot_plateau_vs_n(fits, p),
        "heatmaps": lambda p: plot_heatmaps(tables, p),
        "hallucinations": lambda p: plot_hallucinations(infos, keys, p),
        "finetuning": lambda p: plot_finetuning(infos, keys, p),
        "patching": lambda p: plot_patching(infos, p),
        "attention": lambda p: plot_attention(infos, keys, p),
    }
    for name, draw in drawers.items():
        path = out / f"{name}.png"
        if draw(path):
            report.figures[name] = path

    a, b, r2 = PAPER_PLATEAU_FIT
    md = [
        f"# {title or 'factdyn report'}",
        "",
        f"{len(infos)} runs from: " + ", ".join(f"`{p}`" for p in paths),
    ]
    md += ["", f"Factors (config keys that vary): {', '.join(f'`{k}`' for k in keys) or 'none'}", ""]
    md += ["## Runs", "", *runs_table(infos, keys, None), ""]
    md += [
        "Plateau boundaries are the `plateau` section of `summary.json` (the `PhaseDetector`), or, marked "
        "(curve), the same detection replayed on the logged `val/attr_loss`. Exposures = plateau end × batch "
        "size / N (paper: ≈ 11 at 4k falling to ≈ 5 at 256k).",
        "",
    ]
    if fits:
        md += ["## Plateau end vs N (Fig. 2 right)", ""]
        md += ["| group | prefactor a | exponent b | R² | points | paper |", "|---|---|---|---|---|---|"]
        for name, (fit, _) in fits.items():
            md.append(
                f"| {name} | {fit.prefactor:.3g} | {fit.exponent:.3f} | {fit.r2:.3f} | {fit.n_points} | "
                f"{a}·N^{b}, R² = {r2} |"
            )
        for name, (fit, by_n) in fits.items():
            md += ["", f"{name}: plateau end (steps) by N, mean over seeds; fit {fit.describe()}", ""]
            md += ["| N | plateau end | fitted | paper's fit |", "|---|---|---|---|"]
            for n, ends in by_n.items():
                md.append(f"| {n} | {np.mean(ends):.0f} | {float(fit(n)):.0f} | {a * n**b:.0f} |")
        md.append("")
    for kind, (rows, cols, values) in tables.items():
        heading = "Plateau end (steps), N × α (Fig. 4 left)" if kind == "plateau_end" else (
            "Best α (lowest final val/attr_loss), N × steps (Fig. 4 middle)")  # fmt: skip
        md += [f"## {heading}", "", "| N \\ " + ("α" if kind == "plateau_end" else "steps") + " | "
               + " | ".join(str(c) for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]  # fmt: skip
        for r, row in zip(rows, values, strict=True):
            md.append(f"| {r} | " + " | ".join(_fmt(float(v), 3) for v in row) + " |")
        md.append("")
    grid = patching_grid([i.run for i in infos])
    if grid:
        md += [
            "## Attention patching (Fig. 3 middle, Fig. D)",
            "",
            format_grid(grid, None, "val/attr_loss"),
            "",
        ]
    if report.figures:
        md += ["## Figures", ""]
        md += [f"![{name}]({path.name})" for name, path in report.figures.items()]
        md.append("")
    report.markdown = out / "report.md"
    report.markdown.write_text("\n".join(md))
    (out / "report.json").write_text(
        json.dumps(
            {
                "runs": [str(i.run.path) for i in infos],
                "factors": keys,
                "figures": {k: str(v) for k, v in report.figures.items()},
                "plateau_fits": {
                    name: {
                        "prefactor": f.prefactor,
                        "exponent": f.exponent,
                        "r2": f.r2,
                        "n_points": f.n_points,
                        "plateau_end_by_n": {str(n): e for n, e in by_n.items()},
                    }
                    for name, (f, by_n) in fits.items()
                },  # fmt: skip
            },
            indent=2,
        )
    )
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="factdyn report", description="Figures (PNG) and a Markdown table from factdyn run directories."
    )
    parser.add_argument("runs", nargs="+", type=Path, help="run directories or folders holding runs")
    parser.add_argument("--out", type=Path, required=True, help="output folder (e.g. reports/<name>)")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    report = make_report(args.runs, args.out, args.title)
    print(f"[report] {report.markdown}: figures {', '.join(report.figures) or 'none'}")
    for name, fit in report.plateau_fits.items():
        print(f"[report] plateau end vs N ({name}): {fit.describe()}")


if __name__ == "__main__":
    main()
