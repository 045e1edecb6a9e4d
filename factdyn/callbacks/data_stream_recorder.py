"""DataStreamRecorder: a debugging record of what every training step saw (checks exact resume)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from factdyn.callbacks.quiet import quiet
from factdyn.checks import require_relative_path


class DataStreamRecorder(Callback):
    """Appends one JSON line per training batch to ``<log_dir>/<filename>``.

    Each line is ``{"step": global step the batch trains, "tokens_sha256": hash of batch["tokens"],
    "individuals": [...]}``. A resumed run appends to the same file, so a step may appear twice; the last
    line of a step is what the finished run trained on. Rank zero only.

    Args:
        filename: file name inside the run directory.
    """

    def __init__(self, filename: str = "data_stream.jsonl") -> None:
        require_relative_path("DataStreamRecorder.filename", filename, "the run directory")
        self.filename = filename
        self.path: Path | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.path = Path(trainer.log_dir or trainer.default_root_dir) / self.filename

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if quiet(trainer) or not trainer.is_global_zero or self.path is None:
            return
        tokens = batch["tokens"].detach().cpu().contiguous().numpy()
        line = {
            "step": trainer.global_step,
            "tokens_sha256": hashlib.sha256(tokens.tobytes()).hexdigest(),
            "individuals": batch["individual"].tolist(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(line) + "\n")


def read_stream(path: str | Path) -> dict[int, dict[str, Any]]:
    """Step -> the last record of that step in a ``data_stream.jsonl``."""
    records: dict[int, dict[str, Any]] = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            records[record["step"]] = record
    return records
