"""Process settings of the ``factdyn`` command: glibc's malloc keeps freed memory (factdyn/process.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import factdyn.cli
from tests.helpers.runs import REPO

# Allocate, fill and free 64 MiB through malloc repeatedly; count the page faults after the first round.
CHILD = """
import ctypes, resource, sys
from factdyn.process import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "on" else False
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
def cycle(n=64 << 20):
    p = libc.malloc(n); libc.memset(p, 1, n); libc.free(p)
cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    cycle()
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str, **env: str) -> tuple[bool, int]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode],
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_memory_is_reused_without_faulting_it_in_again() -> None:
    kept, with_setting = faults("on")
    _, without = faults("off")
    assert kept
    # 5 rounds of 64 MiB are about 80,000 fresh 4 KiB pages when each free returns them to the kernel.
    assert without > 40_000
    assert with_setting < 1_000
    assert faults("on", FACTDYN_KEEP_FREED_MEMORY="0")[0] is False


def test_the_command_applies_it_before_anything_else(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(factdyn.cli, "keep_freed_memory", lambda: calls.append("malloc"))
    monkeypatch.setattr(factdyn.cli, "cli_main", lambda *a, **k: calls.append("cli"))
    monkeypatch.setattr(factdyn.cli, "toy_cli_main", lambda *a, **k: calls.append("toy"))
    factdyn.cli.main(["fit", "--help"])
    factdyn.cli.main(["toy", "fit"])
    assert calls == ["malloc", "cli", "malloc", "toy"]
