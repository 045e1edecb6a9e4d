"""How big the knowledge panel's file is for the quickstart's default panel (no training).

    python benchmarks/panel_file_size.py

The file has one row per (panel evaluation, panel individual); its shape follows from
``configs/quickstart.yaml`` (steps, evaluation period, ``panel.size``, ``panel.every_n_evaluations``). This
writes files of exactly that shape with the panel's own writer (``factdyn.dynamics.panel_table``) and prints
their sizes, compressed and as text, for two contents:

- ``worst case``: every loss drawn uniformly from [0, 20) nats and every known bit at random, so that
  nothing compresses beyond the format itself (losses have 2 decimals: at most 5 characters);
- ``learning curve``: each individual's exposures grow as a Poisson count, its facts become known with a
  probability rising with them, and known facts have small losses (what a run that learns looks like).
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import numpy as np
import yaml

from factdyn.data.panel import draw_panel
from factdyn.data.resources import ATTRIBUTES
from factdyn.dynamics.panel_table import format_rows, header, write_member

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"


def panel_steps(max_steps: int, interval: int, every: int) -> list[int]:
    """The steps the panel evaluates at: every ``every``-th evaluation, and the last one."""
    evaluations = list(range(interval, max_steps + 1, interval))
    return [s for k, s in enumerate(evaluations, 1) if k % every == 0 or s == evaluations[-1]]


def write(path: Path, steps: list[int], individuals: np.ndarray, n: int, batch: int, worst: bool) -> None:
    rng = np.random.default_rng(0)
    p, a = len(individuals), len(ATTRIBUTES)
    roles, buckets = np.full(p, "train"), np.zeros(p, dtype=np.int64)
    write_member(path, header(ATTRIBUTES), append=False)
    for step in steps:
        exposures = rng.poisson(step * batch / n, p)
        if worst:
            known, loss = rng.random((p, a)) < 0.5, rng.uniform(0, 20, (p, a))
        else:
            chance = 1 / (1 + np.exp(-(exposures - 10) / 2))
            known = rng.random((p, a)) < chance[:, None]
            loss = np.where(known, rng.exponential(0.05, (p, a)), rng.uniform(2, 9, (p, a)))
        write_member(
            path, format_rows(step, individuals, roles, buckets, exposures, known, loss), append=True
        )


def main() -> None:
    config = yaml.safe_load(QUICKSTART.read_text())
    trainer, data, panel = config["trainer"], config["data"], config["panel"]
    steps = panel_steps(trainer["max_steps"], trainer["val_check_interval"], panel["every_n_evaluations"])
    individuals = draw_panel(data["n_individuals"], panel["size"], None, seed=0)
    print("# command: python benchmarks/panel_file_size.py")
    print(
        f"# configs/quickstart.yaml: {trainer['max_steps']} steps, an evaluation every "
        f"{trainer['val_check_interval']}, panel.size {panel['size']}, every_n_evaluations "
        f"{panel['every_n_evaluations']}: {len(steps)} panel evaluations x {len(individuals)} individuals = "
        f"{len(steps) * len(individuals)} rows"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, worst in (("worst case", True), ("learning curve", False)):
            path = Path(tmp) / f"{name}.csv.gz"
            write(path, steps, individuals, data["n_individuals"], data["batch_size"], worst)
            with gzip.open(path, "rb") as f:
                text = len(f.read())
            print(f"{name:<15} file {path.stat().st_size / 1000:6.1f} kB   as text {text / 1000:6.1f} kB")


if __name__ == "__main__":
    main()
