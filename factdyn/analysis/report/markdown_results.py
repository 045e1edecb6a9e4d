"""The result sections of ``report.md`` that carry numbers over seeds: plateau end vs N with the exponent's
bootstrap interval, fine-tuning from the pre-trained model (step 0) on, and the attention statistics per
layer (numbered from 0). Each returns its Markdown lines, ``[]`` when its runs do not exist."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from factdyn.analysis.fits import (
    PAPER_BATCH_SIZE,
    PAPER_PLATEAU_FIT,
    PAPER_PLATEAU_N_RANGE,
    paper_plateau_exposures,
)
from factdyn.analysis.report.aggregates import attention_layers, finetune_tags
from factdyn.analysis.report.md_table import table
from factdyn.analysis.report.measures import logged_at
from factdyn.analysis.report.plateau_fit import INTERVAL_LEVEL, N_RESAMPLES, RNG_SEED, PlateauFit
from factdyn.analysis.report.run_info import RunInfo
from factdyn.analysis.report.seeds import SeedStat, seed_groups


def _stat(stat: SeedStat | None, fmt: str) -> str:
    return "–" if stat is None else stat.format(fmt)


def plateau_fit_section(fits: dict[str, PlateauFit]) -> list[str]:
    """The fits next to the paper's, then per group the plateau ends by N in steps and in exposures."""
    if not fits:
        return []
    a, b, r2 = PAPER_PLATEAU_FIT
    lo, hi = PAPER_PLATEAU_N_RANGE
    md = ["## Plateau end vs N (Fig. 2 right)", ""]
    md += [
        "Fit: least squares of log(plateau end in steps) on log N, on the mean over seeds at each N. "
        f"Interval of b: {INTERVAL_LEVEL:.0%} percentile bootstrap, {N_RESAMPLES} resamples of the seeds "
        f"(with replacement, within each N; numpy generator seed {RNG_SEED}); none when every N has one "
        f"seed. Paper: {a}·N^{b} (R² = {r2}) in steps of batch {PAPER_BATCH_SIZE}, fitted on N = "
        f"{lo:,}–{hi:,}. Exposures per individual = plateau end × batch size / N; the paper's fit in "
        f"exposures is {a}·N^{b} × {PAPER_BATCH_SIZE} / N.",
        "",
    ]
    rows = []
    for name, pf in fits.items():
        interval = pf.exponent_interval
        seeds = sorted({s.n for s in pf.ends.values()})
        rows.append([
            name, f"{pf.fit.prefactor:.3g}", f"{pf.fit.exponent:.3f}",
            "–" if interval is None else f"[{interval.low:.3f}, {interval.high:.3f}]",
            f"{pf.fit.r2:.3f}", str(pf.fit.n_points), "–".join(map(str, seeds)),
            "/".join(map(str, pf.batch_sizes)) or "–", f"{a}·N^{b}, R² = {r2}",
        ])  # fmt: skip
    level = f"{INTERVAL_LEVEL:.0%}"
    head = ["group", "prefactor a", "exponent b", f"b, {level} interval", "R²", "N values",
            "seeds per N", "batch", "paper"]  # fmt: skip
    md += table(head, rows)
    for name, pf in fits.items():
        md += ["", f"{name}: fit {pf.fit.describe()}; mean ± s.d. (per-seed values)", ""]
        head = ["N", "plateau end (steps)", "exposures per individual", "fitted (steps)",
                f"paper's fit (steps at batch {PAPER_BATCH_SIZE})", "paper's fit (exposures)"]  # fmt: skip
        rows = []
        for n, ends in pf.ends.items():
            outside = " (extrapolated)" if not lo <= n <= hi else ""
            rows.append([
                str(n), ends.format(".0f"), _stat(pf.exposures.get(n), ".3g"), f"{float(pf.fit(n)):.0f}",
                f"{a * n**b:.0f}{outside}", f"{float(paper_plateau_exposures(n)):.3g}{outside}",
            ])  # fmt: skip
        md += table(head, rows)
    md.append("")
    return md


def _value_at_step_0(tag: str) -> Callable[[RunInfo], float | None]:
    return lambda info: logged_at(info, tag, 0)


def _lowest(tag: str) -> Callable[[RunInfo], float | None]:
    def value(info: RunInfo) -> float | None:
        curve = info.curve(tag)
        return None if curve is None else float(curve[1].min())

    return value


def finetuning_section(infos: Sequence[RunInfo], keys: list[str]) -> list[str]:
    """Per seed group of fine-tuning runs: old and new accuracy at step 0 (the pre-trained model), the
    lowest old accuracy reached and the final ones."""
    runs = [i for i in infos if finetune_tags(i) is not None]
    if not runs:
        return []
    rows = []
    for group in seed_groups(runs, keys):
        tags = finetune_tags(group.runs[0])
        stats = [
            group.stat(_value_at_step_0(tags.old_acc)),
            group.stat(_lowest(tags.old_acc)),
            group.stat(lambda i, t=tags.old_acc: i.final(t)),
            group.stat(_value_at_step_0(tags.new_acc)),
            group.stat(lambda i, t=tags.new_acc: i.final(t)),
        ]
        rows.append([group.label, *[_stat(s, ".3g") for s in stats]])
    tags = finetune_tags(runs[0])
    head = ["group", f"{tags.old_acc} at step 0 (pre-trained)", f"lowest {tags.old_acc}",
            f"final {tags.old_acc}", f"{tags.new_acc} at step 0", f"final {tags.new_acc}"]  # fmt: skip
    md = ["## Fine-tuning (Fig. N)", "", *table(head, rows), ""]
    md += [
        "Step 0 is the evaluation before the first update (`ValidationAtStart`, on for runs with "
        "`model.init_checkpoint`); – where a run has none. Mean ± s.d. (per-seed values).",
        "",
    ]
    return md


def attention_section(infos: Sequence[RunInfo], keys: list[str]) -> list[str]:
    """The last logged value of every attention statistic in every layer (0-based), per seed group."""
    runs = [i for i in infos if attention_layers([i])]
    if not runs:
        return []
    stats = attention_layers(runs)
    n_layers = max(max(layers) for layers in stats.values()) + 1
    rows = []
    for group in seed_groups(runs, keys):
        for stat, layers in stats.items():
            cells = [
                _stat(group.stat(lambda i, t=f"attn/{stat}/layer_{layer}": i.final(t)), ".2f")
                if layer in layers
                else "–"
                for layer in range(n_layers)
            ]
            rows.append([group.label, stat, *cells])
    head = ["group", "statistic", *[f"layer {layer}" for layer in range(n_layers)]]
    md = ["## Attention statistics per layer (Fig. F), last measurement", "", *table(head, rows), ""]
    md += [
        "Layers are numbered from 0, as in the tags `attn/<statistic>/layer_<l>` (layer 0 is the paper's "
        "layer 1). Mean ± s.d. (per-seed values).",
        "",
    ]
    return md
