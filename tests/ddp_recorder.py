"""A callback for the DDP test: each rank writes the individuals and batch sizes of its training batches."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L


class RecordIndividuals(L.Callback):
    """Writes ``rank{global_rank}.json``: {step: individuals} of every training batch this rank drew.

    Args:
        dirpath: folder for the per-rank files.
    """

    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)
        self.batches: dict[int, list[int]] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.batches[trainer.global_step] = batch["individual"].tolist()

    def on_train_end(self, trainer, pl_module) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        record = {"world_size": trainer.world_size, "batches": self.batches}
        (self.dirpath / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))
