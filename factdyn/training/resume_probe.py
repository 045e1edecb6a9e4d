"""``python -m factdyn.training.resume_probe <run_dir>``: which checkpoint resumes a run directory, for
processes that import no torch (the sweep, the SLURM script). Read-only.

It prints one JSON line: ``{"checkpoint": <path or null>, "step": <int or null>, "skipped": [<line>, ...]}``.
The choice is :func:`~factdyn.training.run_directory.find_resume_checkpoint`'s, the one ``fit --ckpt_path
last`` makes: the newest checkpoint that loads, matches its hash and holds the optimizer state; ``skipped``
says why each newer one was passed over. ``checkpoint`` is null when none qualifies.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from factdyn.training.run_directory import find_resume_checkpoint


def probe(run_dir: str | Path) -> dict:
    """The resume choice for ``run_dir`` (a ``version_*`` folder), as printed by :func:`main`."""
    run_dir = Path(run_dir)
    found = find_resume_checkpoint(run_dir.parent)
    if found is None:  # every checkpoint is corrupt or lean (find_resume_checkpoint lists none then)
        return {"checkpoint": None, "step": None, "skipped": []}
    path, found_dir, skipped, checkpoint = found
    if found_dir.resolve() != run_dir.resolve():
        raise SystemExit(f"{run_dir}: the newest resumable checkpoint is in another run, {found_dir}")
    return {"checkpoint": str(path), "step": int(checkpoint.get("global_step", 0)), "skipped": skipped}


def main(argv: list[str] | None = None) -> int:
    """Print :func:`probe` of the one run directory in ``argv`` as JSON; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m factdyn.training.resume_probe <run_dir>", file=sys.stderr)
        return 2
    print(json.dumps(probe(args[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
