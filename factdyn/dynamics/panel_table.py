"""The knowledge panel's file: one row per (evaluation step, panel individual), gzip-compressed CSV.

Written by ``factdyn.callbacks.KnowledgePanel`` into the run directory (``run_layout.PANEL``), read by the
report; neither torch nor Lightning. Columns::

    step,individual,role,bucket,exposures,known,loss_<attribute>...   (one loss column per attribute)

- ``step``: the optimizer step of the evaluation (as the TensorBoard points);
- ``individual``: index in the training index space (the ``individual`` of ``exposures.csv``);
- ``role``: the ``data.train_roles`` population it belongs to (``train``; in a fine-tuning run ``new`` for
  the new individuals and ``train`` for the pre-training ones);
- ``bucket``: the sampler's frequency bucket (``sampler.buckets()``, 0 = most frequent; 0 for all when the
  sampler has none);
- ``exposures``: training biographies of this individual in this run up to ``step`` (all ranks);
- ``known``: bitmask of the attributes whose value is argmax-correct on every token, bit ``i`` for the
  ``i``-th loss column (63 = all six known);
- ``loss_<attribute>``: the value's NLL summed over its tokens (nats, 2 decimals), as ``val/attr_loss``.

The file is a sequence of gzip members, one per evaluation (``gzip`` and ``zcat`` read it as one text), each
written with a zero timestamp, so the same rows give the same bytes.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIXED_COLUMNS = ("step", "individual", "role", "bucket", "exposures", "known")
LOSS_PREFIX = "loss_"
LOSS_DECIMALS = 2


def header(attributes: Sequence[str]) -> str:
    """The header line (with its newline) for these attributes, in bitmask order."""
    return ",".join([*FIXED_COLUMNS, *(LOSS_PREFIX + a for a in attributes)]) + "\n"


def known_bitmask(known: np.ndarray) -> np.ndarray:
    """(rows, attributes) booleans -> one integer per row, bit ``i`` for attribute ``i``."""
    known = np.asarray(known, dtype=bool)
    return (known.astype(np.int64) << np.arange(known.shape[1])).sum(axis=1)


def format_rows(
    step: int,
    individuals: np.ndarray,
    roles: np.ndarray,
    buckets: np.ndarray,
    exposures: np.ndarray,
    known: np.ndarray,
    loss: np.ndarray,
) -> str:
    """The CSV lines of one evaluation: one per panel individual."""
    masks = known_bitmask(known)
    lines = []
    for i in range(len(individuals)):
        losses = ",".join(f"{v:.{LOSS_DECIMALS}f}" for v in loss[i].tolist())
        lines.append(f"{step},{individuals[i]},{roles[i]},{buckets[i]},{exposures[i]},{masks[i]},{losses}\n")
    return "".join(lines)


def write_member(path: Path, text: str, append: bool) -> None:
    """``text`` as one gzip member at the end of ``path`` (``append``) or as the whole new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab" if append else "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(text.encode())


@dataclass(frozen=True)
class PanelTable:
    """A panel file in memory, one entry per row (arrays of equal length; ``known``/``loss`` are
    (rows, attributes))."""

    attributes: tuple[str, ...]
    step: np.ndarray
    individual: np.ndarray
    role: np.ndarray
    bucket: np.ndarray
    exposures: np.ndarray
    known: np.ndarray
    loss: np.ndarray

    def __len__(self) -> int:
        return len(self.step)

    def steps(self) -> np.ndarray:
        """The evaluated steps, ascending."""
        return np.unique(self.step)

    def grid(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``values`` (one per row) as an (evaluations, individuals) grid, with the steps and individuals
        (sorted) of its rows and columns; cells of rows the file lacks are NaN (or False for booleans)."""
        steps, individuals = self.steps(), np.unique(self.individual)
        boolean = values.dtype == bool
        shape = (len(steps), len(individuals), *values.shape[1:])
        out = np.full(shape, False if boolean else np.nan, dtype=bool if boolean else float)
        out[np.searchsorted(steps, self.step), np.searchsorted(individuals, self.individual)] = values
        return steps, individuals, out


def read_panel(path: str | Path) -> PanelTable:
    """Read a panel file (every gzip member). Raises ``ValueError`` naming the file on a bad header."""
    path = Path(path)
    with gzip.open(path, "rt") as f:
        head = f.readline().rstrip("\n").split(",")
        rows = [line.rstrip("\n").split(",") for line in f if line.strip()]
    n_fixed = len(FIXED_COLUMNS)
    if tuple(head[:n_fixed]) != FIXED_COLUMNS or not all(h.startswith(LOSS_PREFIX) for h in head[n_fixed:]):
        raise ValueError(f"{path}: not a knowledge panel file (header {','.join(head)!r})")
    attributes = tuple(h[len(LOSS_PREFIX) :] for h in head[n_fixed:])
    cells = np.array(rows, dtype=object).reshape(len(rows), len(head))

    def ints(j: int) -> np.ndarray:
        return cells[:, j].astype(np.int64)

    masks = ints(5)
    return PanelTable(
        attributes=attributes,
        step=ints(0),
        individual=ints(1),
        role=cells[:, 2].astype(str),
        bucket=ints(3),
        exposures=ints(4),
        known=(masks[:, None] >> np.arange(len(attributes))) & 1 == 1,
        loss=cells[:, n_fixed:].astype(float),
    )
