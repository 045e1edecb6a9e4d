"""The report's figures of the attention circuits: ``patching.png`` (attribute loss per reference step of
attention patching, Fig. 3 middle), ``attention.png`` (name→name in the first layer, attribute→name and
attribute→text in the last, Fig. 3 right) and ``attention_layers.png`` (every statistic in every layer,
Fig. F).

Layers are numbered from 0 as in the logged tags ``attn/<statistic>/layer_<l>`` (``layer 0`` is the
paper's "layer 1"); every figure and table of the report uses that numbering.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from factdyn.analysis.report.aggregates import STATISTICS, attention_layers
from factdyn.analysis.report.plotting import (
    band_handle,
    colours,
    legend_with,
    plot_seed_curve,
    pyplot,
    save_figure,
)
from factdyn.analysis.report.run_info import RunInfo, varying_keys
from factdyn.analysis.report.seeds import SeedGroup, seed_groups, seeds_text

ROW_HEIGHT = 3.0


def plot_patching(infos: Sequence[RunInfo], path: Path) -> bool:
    """Attribute loss vs steps per reference step (earliest start step only; mean and band over seeds), an
    unpatched run of the same N and steps dashed."""
    patched = [
        i for i in infos if "attention_patching" in i.run.summary and i.curve("val/attr_loss") is not None
    ]
    if not patched:
        return False
    plt = pyplot()
    first_start = min(int(i.run.summary["attention_patching"]["start_step"]) for i in patched)
    patched = [i for i in patched if int(i.run.summary["attention_patching"]["start_step"]) == first_start]
    by_ref: dict[int, list[RunInfo]] = defaultdict(list)
    for info in patched:
        by_ref[int(info.run.summary["attention_patching"]["reference_step"])].append(info)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    several = False
    for (ref, members), colour in zip(sorted(by_ref.items()), colours(len(by_ref)), strict=True):
        group = SeedGroup(label=f"reference step {ref}", factors={}, runs=members)
        curve = group.curve("val/attr_loss")
        if curve is not None:
            plot_seed_curve(ax, curve, colour, f"reference step {ref} ({seeds_text(curve.n)})")
            several |= curve.n > 1
    # The unpatched reference: runs without patching on the same population size and step budget.
    same = {(i.n, i.max_steps) for i in patched}
    unpatched = [
        i
        for i in infos
        if "attention_patching" not in i.run.summary
        and (i.n, i.max_steps) in same
        and i.curve("val/attr_loss") is not None
    ]
    for group in seed_groups(unpatched, varying_keys(unpatched)):
        curve = group.curve("val/attr_loss")
        if curve is not None:
            plot_seed_curve(ax, curve, "black", f"unpatched: {group.label}", ls="--")
            several |= curve.n > 1
    ax.set(yscale="log", xlabel="training step", ylabel="attribute loss (nats)")
    ax.set_title(f"Attention patching from step {first_start} (Fig. 3 middle)")
    legend_with(ax, [band_handle()] if several else [], fontsize=7)
    save_figure(fig, path)
    return True


def plot_attention(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    """Fig. 3 right: name→name in layer 0, attribute→name and attribute→text in the last layer vs steps,
    one line per seed group (every group), mean and band over seeds."""
    runs = [i for i in infos if i.curve("attn/name_to_name/layer_0") is not None]
    if not runs:
        return False
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    groups = seed_groups(runs, keys)
    for group, colour in zip(groups, colours(len(groups)), strict=True):
        last = max(attention_layers(group.runs).get("attr_to_name", [0]))
        panels = (
            ("attn/name_to_name/layer_0", "name → name"),
            (f"attn/attr_to_name/layer_{last}", "attribute → name"),
            (f"attn/attr_to_text/layer_{last}", "attribute → text"),
        )
        for ax, (tag, title) in zip(axes, panels, strict=True):
            curve = group.curve(tag)
            label = f"{group.label}, layer {tag.rsplit('_', 1)[1]}"
            if curve is not None:
                plot_seed_curve(ax, curve, colour, label)
            ax.set(xlabel="training step", ylabel="total attention", title=title, ylim=(0, 1))
    for ax in axes:
        legend_with(ax, [band_handle()] if any(g.n > 1 for g in groups) else [], fontsize=7)
    fig.suptitle("Attention circuits (Fig. 3 right); layers numbered from 0", fontsize=11)
    save_figure(fig, path)
    return True


def plot_attention_layers(infos: Sequence[RunInfo], keys: list[str], path: Path) -> bool:
    """Fig. F: one panel per statistic (name→name, attribute→name, attribute→text, normalised entropy), a
    line per layer (0-based), mean and band over seeds; one row per seed group."""
    runs = [i for i in infos if attention_layers([i])]
    if not runs:
        return False
    plt = pyplot()
    groups = seed_groups(runs, keys)
    stats = attention_layers(runs)
    fig, axes = plt.subplots(
        len(groups), len(stats), figsize=(4 * len(stats), 0.6 + ROW_HEIGHT * len(groups)), squeeze=False
    )
    n_layers = max(max(layers) for layers in stats.values()) + 1
    palette = colours(n_layers)
    for row, group in zip(axes, groups, strict=True):
        for ax, (stat, layers) in zip(row, stats.items(), strict=True):
            for layer in layers:
                curve = group.curve(f"attn/{stat}/layer_{layer}")
                if curve is not None:
                    plot_seed_curve(ax, curve, palette[layer], f"layer {layer}")
            ax.set(xlabel="training step", title=STATISTICS.get(stat, stat), ylim=(0, 1))
            ax.title.set_fontsize(9)
        row[0].set_ylabel(f"{group.label}\n(share of attention / entropy)", fontsize=8)
        legend_with(row[0], [band_handle()] if group.n > 1 else [], fontsize=7)
    fig.suptitle("Attention statistics per layer (Fig. F); layers numbered from 0, one row per group")
    save_figure(fig, path)
    return True
