"""Test-only callbacks that record the individuals each training step drew, one JSON file per rank.

``IndividualRecorder`` (with :func:`load`) serves the sampler and resume tests, ``RecordIndividuals`` the
DDP test (it also records the world size).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback


class IndividualRecorder(Callback):
    """Writes ``{step: [individuals]}`` to ``<dirpath>/<prefix>rank<r>.json``; optionally stops at a step.

    Args:
        dirpath: folder for the files.
        prefix: file-name prefix (one per run).
        stop_at: request a stop after this many optimizer steps (simulates a killed run).
    """

    def __init__(self, dirpath: str, prefix: str = "", stop_at: int | None = None) -> None:
        self.dirpath = dirpath
        self.prefix = prefix
        self.stop_at = stop_at
        self.steps: dict[int, list[int]] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.steps[trainer.global_step - 1] = batch["individual"].cpu().tolist()
        if self.stop_at is not None and trainer.global_step >= self.stop_at:
            trainer.should_stop = True

    def on_train_end(self, trainer, pl_module) -> None:
        path = Path(self.dirpath) / f"{self.prefix}rank{trainer.global_rank}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.steps))

    def state_dict(self) -> dict[str, Any]:
        return {}  # a resumed run records only its own steps


def load(path: Path) -> dict[int, list[int]]:
    """An ``IndividualRecorder`` file as ``{step: individuals}`` (JSON keys back to ints)."""
    return {int(k): v for k, v in json.loads(Path(path).read_text()).items()}


class RecordIndividuals(Callback):
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
