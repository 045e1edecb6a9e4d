"""A digest of an assembler's pre-tokenized tables (light to import: a subprocess computes it too)."""

from __future__ import annotations

import hashlib

import numpy as np

TABLES = ("before", "between", "after", "first", "last", "value")
"""The assembler's id tables; each has a ``<name>_len`` beside it."""


def tables_digest(assembler) -> str:
    """Hash of every pre-tokenized table and its lengths: equal digests, equal ids everywhere."""
    h = hashlib.sha256()
    for name in TABLES:
        h.update(np.ascontiguousarray(getattr(assembler, name)).tobytes())
        h.update(np.ascontiguousarray(getattr(assembler, f"{name}_len")).tobytes())
    return h.hexdigest()
