"""Generated blocks of REPRODUCTION §3: the individual-sampling distributions on the quickstart's budget
(``results/distributions``), against uniform sampling (the quickstart itself, ``results/quickstart``).

Every run has the quickstart's N, steps and batch, so its 2,000 steps give 32 biographies per individual
on average: the paper's cell with as many exposures is N = 64k at 16k steps of batch 128, where its best
α for the final loss is 0.4 and warm-up ends lowest (Fig. 4 middle and right). The plateau's end is
measured, as in the paper, on held-out templates of individuals drawn uniformly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from factdyn.analysis.evidence.archive_view import (
    Column,
    Experiment,
    PerSeed,
    markdown_table,
    per_seed,
    row_cells,
    seeds_line,
    stat_text,
)
from factdyn.analysis.evidence.verdicts import Verdict, compare
from factdyn.analysis.report.measures import final, knowledge_step, plateau_end
from factdyn.analysis.report.run_info import RunInfo
from factdyn.dynamics.phases import detect_phases

NAME = "distributions"
UNIFORM_SOURCE = "quickstart"
HOW = "Run `bash scripts/campaign_cpu.sh distributions`, then `factdyn evidence`."
UNIFORM = "uniform"
SHORTER_ALPHA = 0.6
"""The Zipf exponent of the plateau claim: the paper's optimum is 0.6-0.8 whatever N (Fig. 4 left)."""
HEAVY_ALPHA = 1.0


def _setting(info: RunInfo) -> str | None:
    """The sampler of a run as a row label (``None``: a sampler this section does not show)."""
    cls = info.config.get("data.sampler.class_path")
    args = {
        k.rsplit(".", 1)[-1]: v for k, v in info.config.items() if k.startswith("data.sampler.init_args.")
    }
    if cls is None and info.config.get("data.sampler") is None:
        return UNIFORM
    kind = str(cls).rsplit(".", 1)[-1]
    if kind == "Zipf":
        return zipf(float(args["alpha"]))
    if kind == "Celebrities":
        return f"celebrities: {int(args['n_celebrities'])} × {float(args['weight']):g}"
    if kind == "WarmUp":
        return (
            f"warm-up: {int(args['warmup_individuals'])} individuals, {float(args['warmup_epochs']):g} epochs"
        )
    return None


def zipf(alpha: float) -> str:
    return f"Zipf α {alpha:g}"


def _order(label: str) -> tuple[int, str]:
    for rank, prefix in enumerate((UNIFORM, "Zipf", "celebrities", "warm-up")):
        if label.startswith(prefix):
            return rank, label
    return 9, label


def settings(results: Path) -> dict[str, list[RunInfo]]:
    """Row label -> the archived runs of every seed (uniform from the quickstart's archive)."""
    out: dict[str, list[RunInfo]] = {}
    uniform = Experiment(results, UNIFORM_SOURCE).runs()
    for info in [*uniform, *Experiment(results, NAME).runs()]:
        label = _setting(info)
        if label is not None:
            out.setdefault(label, []).append(info)
    return dict(sorted(out.items(), key=lambda item: _order(item[0])))


COLUMNS: tuple[Column, ...] = (
    ("plateau end (step)", plateau_end, ".0f", True),
    ("knowledge: loss below 10 % of the baseline (step)", knowledge_step, ".0f", False),
    ("final `val/attr_loss`", final("val/attr_loss"), ".3f", False),
    ("final `val/attr_acc`", final("val/attr_acc"), ".3f", False),
)


def table(results: Path) -> str:
    rows = settings(results)
    if set(rows) <= {UNIFORM}:
        return Experiment(results, NAME).missing(HOW)
    body = []
    for label, runs in rows.items():
        cells = row_cells(runs, COLUMNS)
        body.append((label, str(len(runs)), *cells))
    header = ["sampler", "seeds", *(name for name, *_ in COLUMNS)]
    seeds = seeds_line([i for runs in rows.values() for i in runs])
    note = (
        f"\n\nMean ± s.d. over {seeds} (each seed's plateau end in brackets); uniform is the quickstart "
        f"(`results/{UNIFORM_SOURCE}`), the others `results/{NAME}`. The plateau end is the first of two "
        "evaluations below 0.9 × the baseline, on held-out templates of individuals drawn uniformly."
    )
    return markdown_table(header, body) + note


BUCKET_LOSS, BUCKET_ACC = "val/attr_loss/bucket_{}", "val/attr_acc/bucket_{}"


def n_buckets(info: RunInfo) -> int:
    """The frequency buckets a run logged (``BucketMetrics``; 0 for a sampler without buckets)."""
    k = 0
    while info.curve(BUCKET_LOSS.format(k)) is not None:
        k += 1
    return k


def bucket_plateau_end(which: str) -> Callable[[RunInfo], float | None]:
    """The plateau end of one bucket's held-out loss (``head``: bucket 0, the most frequently drawn;
    ``middle``: bucket n // 2; ``tail``: the last), by the phase detector's default thresholds on that
    bucket's curve; ``None`` without buckets or when that curve never leaves the plateau."""

    def value(info: RunInfo) -> float | None:
        n = n_buckets(info)
        if n < 2 or info.baseline is None:
            return None
        k = {"head": 0, "middle": n // 2, "tail": n - 1}[which]
        loss, acc = info.curve(BUCKET_LOSS.format(k)), info.curve(BUCKET_ACC.format(k))
        phases = detect_phases(loss[0], loss[1], info.baseline, None if acc is None else acc[1])
        return None if phases.plateau_end_step is None else float(phases.plateau_end_step)

    return value


BUCKET_COLUMNS = (
    ("whole population", plateau_end),
    ("head bucket", bucket_plateau_end("head")),
    ("middle bucket", bucket_plateau_end("middle")),
    ("tail bucket", bucket_plateau_end("tail")),
)


def bucket_table(results: Path) -> str:
    """Issue 16 (d): the plateau end of each frequency bucket's held-out loss, with the whole one's."""
    rows = settings(results)
    if set(rows) <= {UNIFORM}:
        return Experiment(results, NAME).missing(HOW)
    body = []
    for label, runs in rows.items():
        cells = [stat_text(per_seed(runs, fn), ".0f") for _, fn in BUCKET_COLUMNS]
        buckets = sorted({n_buckets(i) for i in runs})
        body.append((label, ", ".join(map(str, buckets)), *cells))
    header = ["sampler", "buckets", *(f"plateau end: {name} (step)" for name, _ in BUCKET_COLUMNS)]
    note = (
        "\n\nMean ± s.d. (per seed) over the seeds of the table above. Buckets are the sampler's "
        "(`BucketMetrics`: Zipf frequency deciles, celebrities and the rest, the warm-up subset and the "
        "rest; 0 the most frequent), each bucket's curve is its share of the same held-out evaluation, "
        "and its plateau end is found by the phase detector's default thresholds; `–`: the curve never "
        "left the plateau, or the sampler has no buckets."
    )
    return markdown_table(header, body) + note


def measure(rows: dict[str, list[RunInfo]], label: str, fn: Callable[[RunInfo], float | None]) -> PerSeed:
    """seed -> ``fn`` of the runs of row ``label`` (empty when there is no such row)."""
    return per_seed(rows.get(label, []), fn)


def labelled(rows: dict[str, list[RunInfo]], prefix: str) -> str | None:
    """The first row label starting with ``prefix`` (``warm-up``, ``celebrities``: labels carry arguments)."""
    return next((label for label in rows if label.startswith(prefix)), None)


def verdicts(results: Path) -> dict[str, Verdict]:
    rows = settings(results)
    if UNIFORM not in rows:
        return {}
    loss = final("val/attr_loss")
    uniform_end, uniform_loss = measure(rows, UNIFORM, plateau_end), measure(rows, UNIFORM, loss)
    out: dict[str, Verdict] = {}
    shorter, heavy = zipf(SHORTER_ALPHA), zipf(HEAVY_ALPHA)
    if shorter in rows:
        out["zipf_shortens_plateau"] = compare(measure(rows, shorter, plateau_end), uniform_end, "lower")
    if shorter in rows and heavy in rows:
        out["zipf_one_past_optimum"] = compare(
            measure(rows, heavy, plateau_end), measure(rows, shorter, plateau_end), "higher"
        )
    if heavy in rows:
        out["heavy_imbalance_hurts_final"] = compare(measure(rows, heavy, loss), uniform_loss, "higher")
    celebrities = labelled(rows, "celebrities")
    if celebrities:
        out["celebrities_shorten_plateau"] = compare(
            measure(rows, celebrities, plateau_end), uniform_end, "lower"
        )
    warmup = labelled(rows, "warm-up")
    if warmup:
        out["warmup_shortens_plateau"] = compare(measure(rows, warmup, plateau_end), uniform_end, "lower")
        out["warmup_lowers_final_loss"] = compare(measure(rows, warmup, loss), uniform_loss, "lower")
    head = bucket_plateau_end("head")
    for alpha in HEAD_ALPHAS:
        if zipf(alpha) in rows:
            out[head_key(alpha)] = compare(measure(rows, zipf(alpha), head), uniform_end, "lower")
    return out


HEAD_ALPHAS = (0.4, 0.6, 0.8)
"""The Zipf exponents of issue 16 (d)'s question: does the head bucket leave its plateau before uniform's?"""


def head_key(alpha: float) -> str:
    """The verdict key of "under Zipf ``alpha``, does the head bucket leave its plateau before uniform?"."""
    return f"zipf_head_leaves_early_{alpha:g}"
