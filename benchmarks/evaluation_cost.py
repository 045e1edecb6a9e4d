"""What ``factdyn validate`` and ``factdyn test`` cost on a quickstart-size run, side by side.

    nice -n 10 python benchmarks/evaluation_cost.py [--config configs/quickstart.yaml] [--repeats 3]
                                                    [--json reports/evaluation/cost.json]

Builds the config's model and data as ``factdyn fit`` does (untrained weights: the cost does not depend on
them) and times, in each repeat, one pass of the module's evaluation step and the metrics' compute over

- ``validate``: the fixed evaluation sample (``n_val_sequences`` + ``n_unseen_sequences`` biographies);
- ``test``: the exhaustive sets (every individual of each evaluation population on every held-out
  template, ``factdyn/data/exhaustive.py``), assembly included, as ``factdyn test`` builds them on the fly.

Lightning's loop is left out of both (its per-batch overhead is small against a forward pass). Prints the
biographies of each, the medians over ``--repeats`` and the ratio test / validate; the machine may be
loaded, so compare the ratio, measured side by side, and the seconds per 1,000 biographies.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from factdyn.cli import cli_main

ROOT = Path(__file__).resolve().parents[1]


def evaluate(module, batches) -> tuple[float, int]:
    """Seconds and biographies of one pass of ``validation_step`` over ``batches``, metrics computed."""
    start = time.perf_counter()
    n = 0
    with torch.no_grad():
        for batch in batches:
            module.validation_step(batch, 0)
            n += len(batch["tokens"])
        for metric in module.eval_metrics.values():
            if metric.update_called:
                metric.compute()
                metric.reset()
    return time.perf_counter() - start, n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "quickstart.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cli = cli_main(["--config", str(args.config), "--trainer.logger.init_args.save_dir", tmp], run=False)
    data, module = cli.datamodule, cli.model
    data.setup("fit")
    module.eval()
    times: dict[str, list[float]] = {"validate": [], "test": []}
    counts: dict[str, int] = {}
    for _ in range(args.repeats):
        for name, loader in (("validate", data.val_dataloader()), ("test", data.test_dataloader())):
            seconds, counts[name] = evaluate(module, loader)
            times[name].append(seconds)
    median = {name: statistics.median(values) for name, values in times.items()}
    result = {
        "config": str(args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config),
        "torch_threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "biographies": counts,
        "seconds": times,
        "median_seconds": median,
        "seconds_per_1000_biographies": {k: 1000 * median[k] / counts[k] for k in median},
        "ratio_test_over_validate": median["test"] / median["validate"],
    }
    for name in ("validate", "test"):
        print(
            f"{name:9s} {counts[name]:7d} biographies  median {median[name]:8.2f} s  "
            f"({result['seconds_per_1000_biographies'][name]:.2f} s per 1,000)"
        )
    print(f"ratio test / validate: {result['ratio_test_over_validate']:.1f}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
