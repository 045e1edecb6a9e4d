"""The report's figures of the attention circuits (Fig. 3): ``patching.png`` (attribute loss per reference
step of attention patching) and ``attention.png`` (name→name, attribute→name, attribute→text)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from factdyn.analysis.report.aggregates import mean_curve
from factdyn.analysis.report.plotting import colours, pyplot, save_figure
from factdyn.analysis.report.run_info import RunInfo, sorted_groups


def plot_patching(infos: Sequence[RunInfo], path: Path) -> bool:
    """Attribute loss vs steps per reference step (earliest start step only), an unpatched run dashed."""
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
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for (ref, members), colour in zip(sorted(by_ref.items()), colours(len(by_ref)), strict=True):
        steps, mean, _ = mean_curve(members, "val/attr_loss")
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
    save_figure(fig, path)
    return True


def plot_attention(infos: Sequence[RunInfo], keys: list[str], path: Path, max_groups: int = 4) -> bool:
    """Name→name (first layer), attribute→name and attribute→text (last layer) vs steps, per group."""
    runs = [i for i in infos if i.curve("attn/name_to_name/layer_0") is not None]
    if not runs:
        return False
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    groups = sorted_groups(runs, keys)[:max_groups]
    for (name, members), colour in zip(groups, colours(len(groups)), strict=True):
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
            curve = mean_curve(members, tag)
            if curve is not None:
                ax.plot(curve[0], curve[1], color=colour, label=name)
                ax.fill_between(curve[0], curve[1] - curve[2], curve[1] + curve[2], color=colour, alpha=0.2)
            ax.set(xlabel="training step", ylabel="total attention", title=title, ylim=(0, 1))
    axes[0].legend(fontsize=7)
    fig.suptitle("Attention circuits (Fig. 3 right)")
    save_figure(fig, path)
    return True
