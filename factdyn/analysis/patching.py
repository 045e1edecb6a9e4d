"""Tables of an attention-patching sweep (paper Fig. 3 middle, Fig. D): final loss by start × reference step.

    python -m factdyn.analysis.patching logs/patching [--metric val/attr_loss]

Reads only ``summary.json`` files (the ``attention_patching`` section the callback writes); no training code.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from factdyn.analysis.runs import Run, find_runs


def patching_grid(runs: list[Run], metric: str = "val/attr_loss") -> dict[tuple[int, int], float]:
    """(start_step, reference_step) -> final ``metric`` of every finished patched run."""
    grid = {}
    for run in runs:
        section = run.summary.get("attention_patching")
        value = run.summary.get("final", {}).get(metric)
        if section and value is not None:
            grid[(int(section["start_step"]), int(section["reference_step"]))] = float(value)
    return grid


def format_grid(grid: dict[tuple[int, int], float], unpatched: float | None, metric: str) -> str:
    """Markdown table: one row per start step, one column per reference step."""
    starts = sorted({s for s, _ in grid})
    refs = sorted({r for _, r in grid})
    lines = [
        f"final {metric} (rows: patching start step; columns: reference step)",
        "| start \\ reference | " + " | ".join(str(r) for r in refs) + " |",
        "|---" * (len(refs) + 1) + "|",
    ]
    for s in starts:
        cells = [f"{grid[(s, r)]:.4f}" if (s, r) in grid else "" for r in refs]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    if unpatched is not None and not math.isnan(unpatched):
        lines.append(f"\nunpatched reference run: {unpatched:.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder holding the sweep's runs (e.g. logs/patching)")
    parser.add_argument("--metric", default="val/attr_loss")
    args = parser.parse_args(argv)
    runs = find_runs(args.root)
    reference = [r for r in runs if r.finished and "attention_patching" not in r.summary]
    unpatched = reference[0].summary.get("final", {}).get(args.metric) if len(reference) == 1 else None
    print(format_grid(patching_grid(runs, args.metric), unpatched, args.metric))


if __name__ == "__main__":
    main()
