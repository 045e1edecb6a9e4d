"""The report's figures drawn from hand-made runs, inspected as matplotlib objects: every run and group is
in them, labels are unique, seed bands and phase boundaries are there, plateau vs N is in exposures with the
paper's fit only over its N range, fine-tuning starts at the pre-trained model, layers count from 0, and no
tick labels overlap."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from factdyn.analysis.report.figures_attention import plot_attention, plot_attention_layers
from factdyn.analysis.report.figures_new_individuals import (
    plot_finetuning,
    plot_finetuning_trajectories,
    plot_hallucinations,
)
from factdyn.analysis.report.figures_phases import plot_curves, plot_plateau_vs_n
from factdyn.analysis.report.markdown import header, seeds_section
from factdyn.analysis.report.markdown_results import finetuning_section
from factdyn.analysis.report.plateau_fit import plateau_fits
from factdyn.analysis.report.plotting import pyplot, save_figure, thin_tick_labels
from factdyn.analysis.report.run_info import load_runs, varying_keys
from factdyn.analysis.report.seeds import BAND
from tests.helpers.report_runs import (
    attention_run,
    drawn_figures,
    finetune_run,
    phase_curves,
    pretraining_run,
    true_plateau_end,
    write_run,
)

__all__ = ["drawn_figures"]  # the fixture, imported so that pytest finds it


def legend_texts(ax: Any) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def overlapping_tick_labels(fig: Any) -> list[tuple[str, str]]:
    """Pairs of visible tick labels on one axis whose boxes overlap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not hasattr(fig.canvas, "get_renderer"):  # a closed figure: give it a canvas again
        FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    pairs = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [
                t
                for minor in (False, True)
                for t in axis.get_ticklabels(minor=minor)
                if t.get_visible() and t.get_text()
            ]
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
            for i, (a, box_a) in enumerate(boxes):
                for b, box_b in boxes[i + 1 :]:
                    if box_a.overlaps(box_b):
                        pairs.append((a, b))
    return pairs


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """Plateau-vs-N runs, 3 seeds at each of N = 1k, 2k, 4k, 8k; seed k's plateau ends 20·k steps late."""
    root = tmp_path / "runs"
    for n in (1000, 2000, 4000, 8000):
        for seed in (0, 1, 2):
            pretraining_run(root, f"n{n}-seed={seed}", n, seed, true_plateau_end(n) + 20 * seed, every=20)
    return root


def test_curves_mean_band_unique_labels_and_phase_markers(sweep: Path, tmp_path: Path, drawn_figures) -> None:
    infos = load_runs([sweep])
    keys = varying_keys(infos)
    assert plot_curves(infos, keys, tmp_path / "curves.png")
    ax_loss, ax_acc = drawn_figures["curves"].axes
    labels = legend_texts(ax_loss)
    groups = [t for t in labels if "seeds)" in t]
    assert groups == [f"n_individuals={n}, max_steps={int(1.3 * true_plateau_end(n)) + 400} (n = 3 seeds)"
                      for n in (1000, 2000, 4000, 8000)]  # fmt: skip
    assert len(labels) == len(set(labels))
    assert f"band: {BAND}" in labels and "plateau end (each seed)" in labels
    for ax in (ax_loss, ax_acc):
        assert len(ax.collections) == 4  # one band per group (3 seeds each)
        ends = [line for line in ax.get_lines() if line.get_gid() == "plateau_end"]
        starts = [line for line in ax.get_lines() if line.get_gid() == "plateau_start"]
        assert sum(len(line.get_xdata()) for line in ends) == 12  # every seed's plateau end
        assert sum(len(line.get_xdata()) for line in starts) == 12
        marked = sorted(x for line in ends for x in line.get_xdata())
        assert marked == sorted(
            true_plateau_end(n) + 20 * s for n in (1000, 2000, 4000, 8000) for s in range(3)
        )


def test_plateau_vs_n_in_exposures_with_the_paper_fit_only_over_its_range(
    sweep: Path, tmp_path: Path, drawn_figures
) -> None:
    infos = load_runs([sweep])
    fits = plateau_fits(infos, varying_keys(infos))
    assert plot_plateau_vs_n(fits, tmp_path / "plateau_vs_n.png")
    ax_exp, ax_steps = drawn_figures["plateau_vs_n"].axes
    assert "exposures" in ax_exp.get_ylabel() and "steps" in ax_steps.get_ylabel()
    assert "batch 32" in ax_steps.get_title() and "batch 128" in ax_steps.get_title()
    # The points: mean exposures per individual = mean end × 32 / N.
    means = ax_exp.collections[-1].get_offsets()
    for n, y in means:
        ends = [true_plateau_end(int(n)) + 20 * s for s in range(3)]
        assert y == pytest.approx(sum(ends) / 3 * 32 / n)
    for ax, label_part in ((ax_exp, "× 128 / N"), (ax_steps, "batch 128")):
        paper = [line for line in ax.get_lines() if label_part in str(line.get_label())]
        solid = [line for line in ax.get_lines() if line.get_label().endswith("its N range")]
        dashed = [
            line for line in ax.get_lines() if "extrapolated outside N = 4,000–256,000" in line.get_label()
        ]
        assert len(paper) == 2 and len(solid) == 1 and len(dashed) == 1
        assert min(solid[0].get_xdata()) >= 4000 and dashed[0].get_linestyle() == "--"
        assert max(dashed[0].get_xdata()) <= 4000  # our N reach below the paper's range, not above
        assert ax.get_xlim()[1] < 16_000  # the paper's line does not stretch the axis to its 256k
    texts = legend_texts(ax_exp)
    interval = fits["all runs"].exponent_interval
    ours = f"ours (batch 32, 3 seeds per N), b = {fits['all runs'].fit.exponent:.2f} [{interval.low:.2f}, "
    assert len(texts) == len(set(texts)) and any(t.startswith(ours) for t in texts)
    assert overlapping_tick_labels(drawn_figures["plateau_vs_n"]) == []


def test_finetuning_starts_at_the_pretrained_model_with_accuracy(tmp_path: Path, drawn_figures) -> None:
    root = tmp_path / "runs"
    for n_new in (50, 200):
        for seed in (0, 1):
            finetune_run(root, f"ft{n_new}-seed={seed}", seed, n_new)
    finetune_run(root, "old-style-seed=0", 0, 800, step0=False)
    infos = load_runs([root])
    keys = varying_keys(infos)
    assert plot_finetuning(infos, keys, tmp_path / "finetuning.png")
    assert plot_finetuning_trajectories(infos, keys, tmp_path / "finetuning_trajectories.png")
    fig = drawn_figures["finetuning"]
    titles = [ax.get_title() for ax in fig.axes]
    assert "old (pre-training) individuals: accuracy" in titles and "new individuals: accuracy" in titles
    old_acc = fig.axes[0]
    labels = legend_texts(old_acc)
    assert "n_new=50 (n = 2 seeds)" in labels and "n_new=200 (n = 2 seeds)" in labels
    assert "n_new=800 (n = 1 seed) (no step-0 evaluation: from step 25)" in labels
    assert "step 0: the pre-trained model" in labels and len(labels) == len(set(labels))
    starts = [line for line in old_acc.get_lines() if line.get_gid() == "pretrained"]
    assert len(starts) == 2  # the two groups that evaluated step 0
    assert all(line.get_xdata()[0] == 0 for line in starts)
    assert {round(float(line.get_ydata()[0]), 6) for line in starts} == {0.98}  # 0.93 + 0.05 at step 0
    assert overlapping_tick_labels(fig) == []
    trajectories = drawn_figures["finetuning_trajectories"].axes[0]
    assert len(trajectories.collections) == 2  # a grey step-0 dot per group with a step 0
    assert overlapping_tick_labels(drawn_figures["finetuning_trajectories"]) == []


def test_hallucinations_draw_every_group(tmp_path: Path, drawn_figures) -> None:
    root = tmp_path / "runs"
    ns = (1000, 2000, 3000, 4000, 5000)  # more groups than the figure used to keep (4)
    for n in ns:
        # Loss curves only (one panel per row): what matters here is that every group gets its row.
        curves = {
            tag: [(s, 6.0 + n / 1000) for s in (0, 100)] for tag in ("val/attr_loss", "unseen/attr_loss")
        }
        summary = {"baseline_attr_loss": 6.0}
        write_run(root, f"n{n}-seed=0", {"seed_everything": 0, "data": {"n_individuals": n}}, curves, summary)
    infos = load_runs([root])
    assert plot_hallucinations(infos, varying_keys(infos), tmp_path / "hallucinations.png")
    fig = drawn_figures["hallucinations"]
    assert [ax.get_title(loc="left") for ax in fig.axes] == [f"n_individuals={n} (n = 1 seed)" for n in ns]
    for ax, n in zip(fig.axes, ns, strict=True):
        assert legend_texts(ax) == [
            "seen (training individuals)",
            "unseen (held-out individuals)",
            "no-knowledge baseline 6.00",
        ]
        assert {float(line.get_ydata()[0]) for line in ax.get_lines()[:2]} == {6.0 + n / 1000}


def test_attention_per_layer_with_entropy_numbered_from_zero(tmp_path: Path, drawn_figures) -> None:
    root = tmp_path / "runs"
    for seed in (0, 1):
        attention_run(root, f"att-seed={seed}", seed, n_layers=4)
    infos = load_runs([root])
    keys = varying_keys(infos)
    assert plot_attention_layers(infos, keys, tmp_path / "attention_layers.png")
    assert plot_attention(infos, keys, tmp_path / "attention.png")
    layers = drawn_figures["attention_layers"].axes
    assert [ax.get_title() for ax in layers] == [
        "name → name (at the last name token)",
        "attribute → name",
        "attribute → text",
        "normalised attention entropy",
    ]
    for ax in layers:
        assert [line.get_label() for line in ax.get_lines()] == [f"layer {k}" for k in range(4)]
        assert len(ax.collections) == 4  # a band per layer: two seeds
    fig3 = drawn_figures["attention"].axes
    assert legend_texts(fig3[0])[0].endswith(", layer 0")
    assert legend_texts(fig3[1])[0].endswith(", layer 3") and legend_texts(fig3[2])[0].endswith(", layer 3")
    assert all("layer 4" not in t for ax in fig3 for t in legend_texts(ax))


def test_tick_labels_that_would_overlap_are_thinned(tmp_path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0.31, 0.97], [1, 2])
    ax.set_xscale("log")  # less than a decade: matplotlib labels the minor ticks too
    ax.set_xticks([0.3 + 0.02 * k for k in range(35)], [f"{0.3 + 0.02 * k:.2f}" for k in range(35)])
    assert overlapping_tick_labels(fig)
    assert thin_tick_labels(fig) > 0 and overlapping_tick_labels(fig) == []
    save_figure(fig, tmp_path / "crowded.png")
    assert overlapping_tick_labels(fig) == []  # hidden labels stay hidden when saved


def test_report_tables_give_mean_sd_and_per_seed_values(sweep: Path, tmp_path: Path) -> None:
    infos = load_runs([sweep])
    md = "\n".join(header(None, [sweep], infos, []) + seeds_section(infos, varying_keys(infos)))
    assert "`seed_everything`, which `data.seed` follows" in md and BAND in md
    ends = [true_plateau_end(2000) + 20 * s for s in range(3)]
    sd = math.sqrt(sum((e - sum(ends) / 3) ** 2 for e in ends) / 2)
    assert f"| {sum(ends) / 3:.0f} ± {sd:.0f} ({', '.join(map(str, ends))}) |" in md
    assert md.count("(n = 3 seeds)") == 4 and "| 0, 1, 2 |" in md
    for seed in (0, 1):
        finetune_run(tmp_path / "ft", f"ft-seed={seed}", seed, 200)
    ft = load_runs([tmp_path / "ft"])
    section = "\n".join(finetuning_section(ft, varying_keys(ft)))
    assert "ft_old/attr_acc at step 0 (pre-trained)" in section and "| 0.98 ± 0 (0.98, 0.98) |" in section
    assert "final ft_old/attr_acc" in "\n".join(seeds_section(ft, []))


def test_evaluations_overlay_each_groups_own_curve_and_its_checkpoints(tmp_path: Path, drawn_figures) -> None:
    """A run's eval/evaluations.jsonl (a fixed-order run measured shuffled) against its own curve; runs
    without evaluations draw nothing."""
    from factdyn.analysis.report.figures_evaluations import plot_evaluations
    from factdyn.training.evaluation_record import record_evaluation

    root = tmp_path / "runs"
    for seed in (0, 1):
        for positions in ("learned", "rotary"):
            config = {"seed_everything": seed, "model": {"config": {"positions": positions}}}
            run_dir = write_run(root, f"{positions}-seed={seed}", config, phase_curves(100, 200))
            for step in (0, 100, 200):
                metrics = {"val/attr_loss": 9.0 - step / 100 + seed, "val/attr_acc": step / 400}
                record = {"evaluation": "validate-shuffle_sentences=true", "step": step, "metrics": metrics}
                record_evaluation(run_dir, record)
    infos = load_runs([root])
    assert len(infos) == 4
    keys = varying_keys(infos)
    assert plot_evaluations(infos, keys, tmp_path / "evaluations.png")
    loss = drawn_figures["evaluations"].axes[0]
    dashed = [line for line in loss.get_lines() if line.get_gid() == "validate-shuffle_sentences=true"]
    assert len(dashed) == 2  # one shuffled curve per group
    assert sorted(tuple(line.get_xdata()) for line in dashed) == [(0, 100, 200)] * 2
    assert {tuple(line.get_ydata()) for line in dashed} == {(9.5, 8.5, 7.5)}  # the mean of seeds 0 and 1
    labels = legend_texts(loss)
    assert "validate-shuffle_sentences=true" in labels and "the run's own evaluation (solid)" in labels
    assert any(label.startswith("positions=learned") for label in labels)
    assert overlapping_tick_labels(drawn_figures["evaluations"]) == []
    plain = tmp_path / "plain"
    write_run(plain, "run-seed=0", {"seed_everything": 0}, phase_curves(100, 200))
    assert not plot_evaluations(load_runs([plain]), [], tmp_path / "none.png")
