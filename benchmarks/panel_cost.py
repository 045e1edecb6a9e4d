"""The knowledge panel's evaluation cost on the quickstart, against the quickstart's evaluation budget.

    nice -n 10 python benchmarks/panel_cost.py [--sizes 64 128 192 256] [--repeats 7] [--json out.json]

Builds the quickstart's model and data exactly as ``factdyn fit --config configs/quickstart.yaml`` does
(untrained weights: the cost does not depend on them) and times, side by side in each repeat:

- ``train step``: one optimizer step (forward, backward, fused AdamW) on a training batch of the stream,
  the mean of ``--steps`` steps (batches built beforehand, so data assembly is left out: a lower bound);
- ``evaluation``: the quickstart's fixed evaluation sets (``val``, ``unseen``) through
  ``FactLearner.validation_step`` and the metrics' compute (Lightning's loop and logging left out, so it is
  also a lower bound of what an evaluation costs in a run);
- ``panel <P>``: one panel evaluation of P individuals as ``KnowledgePanel`` does it (forward through
  ``value_outcomes``, the rows formatted and appended to a gzip file);
- ``figures``: one call of the panel's TensorBoard figures on a panel of 128 individuals and 25
  evaluations (matplotlib; skipped without it).

Prints the medians over ``--repeats`` and the ratios. The machine may be loaded: compare the ratios, which
were measured side by side, not the absolute times. Then it projects the quickstart's evaluation share of
wall time with the panel, for each size and period: the quickstart's measured budget
(``reports/speed/quickstart_v2/budget.json``: wall and evaluation seconds) plus, per panel evaluation,
``ratio(panel / evaluation)`` times the run's measured seconds per evaluation (an upper bound, since the
ratio's denominator leaves Lightning's overhead out), plus the figures alike.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from factdyn.callbacks import KnowledgePanel
from factdyn.callbacks.panel_figures import log_panel_figures
from factdyn.cli import cli_main
from factdyn.data.stream import BiographyStream
from factdyn.dynamics.panel_table import format_rows, header, write_member

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
BUDGET = ROOT / "reports" / "speed" / "quickstart_v2" / "budget.json"
EVALUATION_LIMIT = 0.05
"""The speed budget: all of a quickstart run's evaluation, panel included, at most 5 % of its wall time."""


def build(config: Path) -> Any:
    """The quickstart's CLI objects (model, data), not run; the data set up."""
    argv, sys.argv = sys.argv, sys.argv[:1]  # LightningCLI reads sys.argv too: only the quickstart here
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cli = cli_main(["--config", str(config), "--trainer.logger.init_args.save_dir", tmp], run=False)
    finally:
        sys.argv = argv
    cli.datamodule.setup("fit")
    return cli


def add_figure_at(writer: Any, step: int, tag: str, figure: Any) -> None:
    """A SummaryWriter's ``add_figure`` at a fixed step: what the panel's ``log(tag, figure)`` does in TB."""
    writer.add_figure(tag, figure, step)


def time_it(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128, 192, 256])
    parser.add_argument("--periods", type=int, nargs="+", default=[1, 2, 3, 4, 5], help="every_n_evaluations")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=4, help="training steps timed per repeat")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()

    cli = build(QUICKSTART)
    model, data = cli.model, cli.datamodule
    stream = BiographyStream(
        data.assembler, data.train_population, data.sampler, data.batch_size, data.seed, 0, 0, True
    )
    train_batches = [stream.tensors_at(step)["tokens"] for step in range(args.steps)]
    optimizer = torch.optim.AdamW(model.model.optimizer_groups(0.1), lr=1e-3, fused=True)
    eval_batches = [b for name in data.eval_set_names() for b in data.eval_batches[name]]
    panels = {}
    for size in args.sizes:
        panels[size] = KnowledgePanel(size=size, log_figures=False)
        panels[size].prepare(data)
    rng = np.random.default_rng(0)
    fake = (rng.integers(0, 40, (25, 128)), rng.random((25, 128, 6)) < 0.5)

    def train() -> None:
        model.train()
        for tokens in train_batches:
            loss, _ = model.lm_loss(tokens)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    def evaluate() -> None:
        model.eval()
        with torch.no_grad():
            for batch in eval_batches:
                model.validation_step(batch, 0)
            for metric in model.eval_metrics.values():
                if metric.update_called:
                    metric.compute()
                    metric.reset()

    def panel(size: int, path: Path) -> None:
        model.eval()
        p = panels[size]
        known, loss = p.evaluate(model)
        counts = np.zeros(len(p.individuals), dtype=np.int64)
        write_member(
            path, format_rows(0, p.individuals, p.roles, p.buckets, counts, known, loss), append=True
        )

    try:
        import matplotlib  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        SummaryWriter = None  # type: ignore[assignment]

    times: dict[str, list[float]] = {"train step": [], "evaluation": [], "figures": []}
    times.update({f"panel {s}": [] for s in args.sizes})
    with tempfile.TemporaryDirectory() as tmp:
        writer = SummaryWriter(tmp) if SummaryWriter is not None else None
        files = {s: Path(tmp) / f"panel_{s}.csv.gz" for s in args.sizes}
        for s, path in files.items():
            write_member(path, header(panels[s].attributes), append=False)
        # One untimed round first: allocator and kernel warm-up, the first gzip member.
        train(), evaluate(), [panel(s, files[s]) for s in args.sizes]
        for repeat in range(args.repeats):
            times["train step"].append(time_it(train) / args.steps)
            times["evaluation"].append(time_it(evaluate))
            for s in args.sizes:
                times[f"panel {s}"].append(time_it(lambda s=s: panel(s, files[s])))
            if writer is not None:
                add = functools.partial(add_figure_at, writer, repeat)
                times["figures"].append(time_it(lambda r=repeat, add=add: log_panel_figures(add, *fake, r)))
            print(f"repeat {repeat + 1}/{args.repeats} done", flush=True)
        if writer is not None:
            writer.close()
    med = {k: statistics.median(v) for k, v in times.items() if v}
    step, evaluation = med["train step"], med["evaluation"]

    quick = yaml.safe_load(QUICKSTART.read_text())
    n_evals = quick["trainer"]["max_steps"] // quick["trainer"]["val_check_interval"]
    configured = quick.get("panel", {})
    budget = json.loads(BUDGET.read_text())["runs"]
    wall = statistics.median(r["wall_seconds"] for r in budget)
    val = statistics.median(r["validation_seconds"] for r in budget)
    per_eval = val / n_evals
    figure_every = configured.get("figure_every_n", KnowledgePanel().figure_every_n)

    def projected(size: int, period: int) -> float:
        n_panel = math.ceil(n_evals / period)  # every period-th evaluation, and the last
        n_figures = math.ceil(n_panel / figure_every) + 1
        added = n_panel * med[f"panel {size}"] / evaluation * per_eval
        added += n_figures * med.get("figures", 0.0) / evaluation * per_eval
        return (val + added) / (wall + added)

    print(f"# command: python benchmarks/panel_cost.py {' '.join(sys.argv[1:])}")
    threads = torch.get_num_threads()
    print(f"# machine: {os.cpu_count()} CPUs, {threads} torch threads; {args.repeats} repeats, medians "
          "(seconds), measured side by side in each repeat")  # fmt: skip
    print(f"# quickstart: {n_evals} evaluations; budget {BUDGET.relative_to(ROOT)}: wall {wall:.1f} s, "
          f"evaluation {val:.1f} s ({val / wall:.2%}), {per_eval:.3f} s per evaluation")  # fmt: skip
    for name, value in med.items():
        ratios = f"x{value / step:6.3f} train step   x{value / evaluation:6.3f} evaluation"
        print(f"{name:<12} {value:8.4f} s   {ratios}")
    print("projected quickstart evaluation share of wall time with the panel (limit 5 %):")
    print("size \\ every_n_evaluations " + " ".join(f"{p:>7}" for p in args.periods))
    for s in args.sizes:
        print(f"{s:<27} " + " ".join(f"{projected(s, p):7.2%}" for p in args.periods))
    if configured.get("size"):
        size, period = configured["size"], configured.get("every_n_evaluations", 1)
        key = f"panel {size}"
        if key in med:
            share = projected(size, period)
            verdict = "within" if share <= EVALUATION_LIMIT else "OVER"
            print(f"configs/quickstart.yaml: panel.size {size}, every_n_evaluations {period}: "
                  f"{share:.2%}, {verdict} the 5 % budget")  # fmt: skip
    if args.json:
        out = {
            "medians": med,
            "times": times,
            "n_evaluations": n_evals,
            "budget_wall": wall,
            "budget_val": val,
        }
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
