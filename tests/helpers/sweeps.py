"""Sweep test helpers: the resume probe run in the test process, and a stub interpreter for SLURM scripts."""

from __future__ import annotations

import sys
from pathlib import Path

from factdyn.sweep.recovery import ResumeChoice
from factdyn.training.resume_probe import probe


def in_process_probe(run_dir: Path) -> ResumeChoice:
    """What :func:`factdyn.sweep.recovery.probe_subprocess` answers, without a subprocess."""
    return ResumeChoice.from_json(probe(run_dir))


def stub_python(path: Path) -> Path:
    """An executable that runs ``-m factdyn.sweep.recover_run`` for real (with this interpreter) and, for
    anything else, prints its arguments instead of running them."""
    path.write_text(
        "#!/bin/bash\n"
        f'if [ "$2" = factdyn.sweep.recover_run ]; then exec {sys.executable} "$@"; fi\n'
        'echo "$@"\n'
    )
    path.chmod(0o755)
    return path
