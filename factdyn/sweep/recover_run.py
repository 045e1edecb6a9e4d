"""``python -m factdyn.sweep.recover_run <run_dir>``: :func:`~factdyn.sweep.recovery.recover` for the SLURM
script. It prints the checkpoint the run resumes from (nothing: start it from scratch) and its notes on
stderr; exit 1 with a one-line message when it cannot tell (the run directory is then untouched).
"""

from __future__ import annotations

import sys

from factdyn.sweep.recovery import RecoveryError, recover


def main(argv: list[str] | None = None) -> int:
    """Recover the one run directory in ``argv``; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m factdyn.sweep.recover_run <run_dir>", file=sys.stderr)
        return 2
    try:
        recovery = recover(args[0])
    except RecoveryError as err:
        print(f"factdyn sweep: {err}", file=sys.stderr)
        return 1
    for note in recovery.notes:
        print(f"[sweep] {note}", file=sys.stderr)
    if recovery.checkpoint is not None:
        print(recovery.checkpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
