"""Run a ``factdyn`` program in-process and read what it printed."""

from __future__ import annotations

import pytest


def run_program(capsys: pytest.CaptureFixture, *words: str) -> tuple[int, str, str]:
    """``factdyn <words>`` through :func:`factdyn.cli.main`: (exit status, stdout, stderr)."""
    from factdyn.cli import main

    try:
        main(list(words))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
