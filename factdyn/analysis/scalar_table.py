"""Scalars as a compact table: ``scalars.csv.gz``, one ``step,tag,value`` row per logged point, the form in
which an archived run keeps what its TensorBoard event files held.

Values are written with 9 significant digits, which round-trips the float32 that TensorBoard stores, and
read back as that float32, so a number computed from an archive equals the one computed from the event
files, bit for bit. The gzip stream carries no
file name or time stamp: archiving the same run twice gives the same bytes (no churn in git).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

HEADER = ("step", "tag", "value")
Series = dict[str, list[tuple[int, float]]]


def write_scalar_table(path: str | Path, series: Mapping[str, Sequence[tuple[int, float]]]) -> int:
    """Write ``tag -> [(step, value), ...]`` to ``path`` (tags sorted, steps in order); returns the rows."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    rows = 0
    for tag in sorted(series):
        for step, value in sorted(series[tag]):
            writer.writerow((int(step), tag, format(float(value), ".9g")))
            rows += 1
    data = gzip.compress(text.getvalue().encode(), compresslevel=9, mtime=0)
    Path(path).write_bytes(data)
    return rows


def read_scalar_table(path: str | Path, tags: Sequence[str] | None = None) -> Series:
    """``tag -> [(step, value), ...]`` sorted by step, from a table :func:`write_scalar_table` wrote."""
    wanted = None if tags is None else set(tags)
    series: dict[str, dict[int, float]] = {}
    with gzip.open(path, "rt", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if tuple(header or ()) != HEADER:
            raise ValueError(f"{path}: not a factdyn scalar table (header {header!r}, expected {HEADER})")
        for step, tag, value in reader:
            if wanted is None or tag in wanted:
                series.setdefault(tag, {})[int(step)] = float(np.float32(value))
    return {tag: sorted(points.items()) for tag, points in series.items()}
