"""Process settings the ``factdyn`` command applies before it builds anything: glibc's malloc keeps freed
memory instead of handing it back to the kernel.

Every training step frees and re-allocates the same large buffers (activations, the logits, their
gradients). By default glibc serves blocks above its mmap threshold with fresh ``mmap`` pages and returns
them on ``free``, so each step faults the same memory in again: on a 2-core CPU, a quickstart-sized run
spent 15 % of its CPU time in the kernel (``benchmarks/allocator.py``). With mmap off and a trim threshold
of 2 GiB, freed blocks stay in the heap for the next step. The cost is a higher resident size (the heap
keeps its peak).

``FACTDYN_KEEP_FREED_MEMORY=0`` leaves glibc's defaults alone. Other C libraries (macOS, musl) have no
``mallopt`` and are left alone too.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
ENV_SWITCH = "FACTDYN_KEEP_FREED_MEMORY"
TRIM_THRESHOLD = 2**31 - 1
"""Bytes of free heap top glibc may keep before it trims (its largest value: 2 GiB)."""


def keep_freed_memory() -> bool:
    """Set glibc's malloc to serve every block from the heap and keep freed memory; ``True`` if it did.

    Only the trim threshold alone would be worse than the default: it also fixes the mmap threshold at
    128 KiB (glibc otherwise raises it as large blocks are freed): about three times the faults.
    """
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return False
    try:
        # The process's own symbols: the C library it already runs on, without searching for one.
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
