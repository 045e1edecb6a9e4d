"""Runs that die with the sweep: a sweep killed with SIGKILL (or by the OOM killer) leaves no run behind
still writing into a directory the next sweep resumes.

On Linux each child asks the kernel, between ``fork`` and ``exec``, for SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG)``; it survives the ``exec`` of the run's interpreter). SIGKILL rather than
SIGTERM: nothing is lost by it (checkpoints are written atomically and a resume replays the steps since the
last one, exactly as after a SIGTERM), and the run cannot linger for a step while a new sweep resumes it.

The kernel ties the request to the *thread* that forked the child: :class:`~factdyn.sweep.pool.LocalSweep`
starts each run from the pool thread that then waits for it, so that thread outlives the run.

Elsewhere (macOS, BSD) there is no such request and :func:`die_with_parent` returns ``None``: runs then
outlive a SIGKILLed sweep, as ``kill -9`` of the sweep's process group (``kill -9 -<pgid>``) avoids.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal the calling process gets when its parent dies (linux/prctl.h)."""


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen` that makes the child die with this process (Linux),
    else ``None`` (no such request on this platform)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        # Resolved here, in the parent: the child between fork and exec should only make the call.
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    option, sig = ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGKILL)

    def preexec() -> None:
        prctl(option, sig)
        if os.getppid() != parent:  # the parent died before the request: nobody would send the signal
            os._exit(1)

    return preexec
