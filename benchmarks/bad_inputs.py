"""Run the bad-input table against this checkout's factdyn or an older commit's, and count the outcomes.

    python benchmarks/bad_inputs.py                       # this checkout
    python benchmarks/bad_inputs.py --ref 03f243d         # factdyn/ as it was at that commit
    python benchmarks/bad_inputs.py --ref main --out reports/robustness/bad_inputs_main.txt

The cases and their classification are :mod:`tests.helpers.bad_inputs` (one-line / vague / multi-line /
traceback / accepted, and whether anything was left behind); with ``--ref`` the commit's ``factdyn/`` is
extracted (``git archive``) into a temporary folder and imported instead of this checkout's, while the cases,
the config files they use and the classifier stay this checkout's. Every case runs in this one process,
through ``factdyn.cli.main``, from its own empty working directory; a case still running after
``--time-limit`` seconds counts as accepted. Writes one line per case and the counts.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def import_factdyn(ref: str | None, scratch: Path) -> str:
    """Import ``factdyn`` from this checkout, or from ``ref``'s tree extracted under ``scratch``."""
    if ref is None:
        sys.path.insert(0, str(REPO))
        import factdyn

        return f"this checkout ({factdyn.__file__})"
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "factdyn"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(scratch, filter="data")
    sys.path.insert(0, str(scratch))
    import factdyn

    sys.path.remove(str(scratch))
    sys.path.insert(0, str(REPO))  # the cases (tests.helpers) are this checkout's
    return f"{ref} = {commit[:12]} ({factdyn.__file__})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ref", default=None, help="a git commit whose factdyn/ to measure (default: here)")
    parser.add_argument("--out", type=Path, default=None, help="also write the report to this file")
    parser.add_argument("--time-limit", type=int, default=90, help="seconds before a case counts as accepted")
    parser.add_argument("-k", default="", help="only cases whose category: name contains this")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="factdyn_bad_inputs_") as scratch:
        scratch = Path(scratch)
        measured = import_factdyn(args.ref, scratch / "code")
        from tests.helpers.bad_inputs import CASES, KINDS, prepare_files, run_case, stderr_to_file

        files = prepare_files(scratch / "files")
        rows, kinds, named, left, by_category = [], Counter(), Counter(), 0, {}
        cases = [c for c in CASES if args.k in f"{c.category}: {c.name}"]
        start = time.perf_counter()
        for i, case in enumerate(cases):
            with stderr_to_file() as read:
                outcome = run_case(case, scratch / f"case_{i:03d}", files, read, args.time_limit)
            kinds[outcome.kind] += 1
            named[outcome.kind] += outcome.named
            left += bool(outcome.left)
            by_category.setdefault(case.category, Counter())[outcome.kind] += 1
            mark = f" [left: {', '.join(outcome.left[:3])}]" if outcome.left else ""
            rows.append(
                f"{outcome.kind:<10} | {case.category:<9} | {case.name} | {outcome.message[:220]}{mark}"
            )
            print(rows[-1], flush=True)
        seconds = time.perf_counter() - start

    lines = [
        f"# Bad-input table, {len(cases)} cases, factdyn from {measured}",
        f"# python benchmarks/bad_inputs.py{' --ref ' + args.ref if args.ref else ''}; {seconds:.0f} s",
        "",
        "kind       | category  | case | error (first 220 characters)",
        *rows,
        "",
        "counts: " + ", ".join(f"{k} {kinds[k]}" for k in KINDS) + f"; left something behind: {left}",
        "of these, errors whose text holds the field and the allowed values: "
        + ", ".join(f"{k} {named[k]}" for k in KINDS if k != "accepted"),
        "",
        "category  | " + " | ".join(f"{k:>10}" for k in KINDS),
        *(
            f"{cat:<9} | " + " | ".join(f"{counts[k]:>10}" for k in KINDS)
            for cat, counts in by_category.items()
        ),
    ]
    print("\n".join(lines[-(len(by_category) + 5) :]))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
