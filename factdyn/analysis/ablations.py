"""Table of an ablation set (paper Fig. A, Fig. C): phases and final losses, one row per run.

    python -m factdyn.analysis.ablations logs/ablations [--csv out.csv]

Reads ``summary.json`` (final metrics, the ``plateau`` section of PhaseDetector) and the TensorBoard scalars
(lowest evaluation loss); no training code. ``train - val`` compares the attribute loss on training
templates with that on held-out templates: a large gap means knowledge that does not transfer to new
phrasings (the paper's one-template run).
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import Any

from factdyn.analysis.runs import Run, find_runs

COLUMNS = (
    "run",
    "steps",
    "baseline",
    "plateau_start",
    "plateau_end",
    "knowledge_step",
    "min_val_loss",
    "val_loss",
    "val_acc",
    "train_attr_loss",
    "unseen_loss",
)


def _final(run: Run, tag: str) -> float | None:
    value = run.summary.get("final", {}).get(tag)
    return None if value is None else float(value)


def row(run: Run, root: Path) -> dict[str, Any]:
    """One table row for a run directory."""
    plateau = run.summary.get("plateau", {})
    series = run.scalars(["val/attr_loss"]).get("val/attr_loss", [])
    return {
        "run": str(run.path.relative_to(root)) if run.path != root else run.path.name,
        "steps": run.summary.get("steps"),
        "baseline": run.summary.get("baseline_attr_loss"),
        "plateau_start": plateau.get("start_step"),
        "plateau_end": plateau.get("end_step"),
        "knowledge_step": plateau.get("knowledge_step"),
        "min_val_loss": min((v for _, v in series), default=None),
        "val_loss": _final(run, "val/attr_loss"),
        "val_acc": _final(run, "val/attr_acc"),
        "train_attr_loss": _final(run, "train/attr_loss"),
        "unseen_loss": _final(run, "unseen/attr_loss"),
    }


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of ``rows`` (``-``: not reached / not logged)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---" * len(COLUMNS) + "|"]
    lines += ["| " + " | ".join(_cell(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder holding the runs (e.g. logs/ablations)")
    parser.add_argument("--csv", type=Path, default=None, help="also write the rows as CSV")
    args = parser.parse_args(argv)
    rows = [row(run, args.root) for run in find_runs(args.root) if run.finished]
    print(format_table(rows))
    if args.csv:
        with args.csv.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
