"""Whether two runs logged the same scalars, point for point (live run directories or archived runs).

    python tools/compare_scalars.py RUN_A RUN_B [RUN_A2 RUN_B2 ...]

Prints, per pair, the tags both logged, the points compared, how many differ, and the tags only one has.
Used to show that a measuring callback (e.g. AttentionStatistics) leaves training unchanged.
"""

from __future__ import annotations

import argparse

from factdyn.analysis.runs import read_scalars


def compare(a_dir: str, b_dir: str) -> str:
    a, b = read_scalars(a_dir), read_scalars(b_dir)
    shared = sorted(set(a) & set(b))
    differing = sum(1 for t in shared for pa, pb in zip(a[t], b[t], strict=False) if pa != pb)
    lengths = sum(1 for t in shared if len(a[t]) != len(b[t]))
    points = sum(min(len(a[t]), len(b[t])) for t in shared)
    return (
        f"{a_dir} vs {b_dir}: {len(shared)} tags logged by both, {points} points compared, "
        f"{differing} differ, {lengths} tags of different length; "
        f"only in the first: {len(set(a) - set(b))} tags ({', '.join(sorted(set(a) - set(b))[:2])}, ...), "
        f"only in the second: {len(set(b) - set(a))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="pairs of run directories")
    args = parser.parse_args()
    if len(args.runs) % 2:
        parser.error("give run directories in pairs")
    for a_dir, b_dir in zip(args.runs[::2], args.runs[1::2], strict=True):
        print(compare(a_dir, b_dir))


if __name__ == "__main__":
    main()
