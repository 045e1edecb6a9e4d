"""Data-parallel training through Lightning's DDP strategy: 2 CPU processes, gloo, the documented command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.helpers.runs import REPO, tiny_args


def test_ddp_two_processes_draw_their_own_batches(tmp_path: Path) -> None:
    record = tmp_path / "record"
    args = tiny_args(
        tmp_path / "logs",
        "--trainer.strategy=ddp",
        "--trainer.accelerator=cpu",
        "--trainer.devices=2",
        "--trainer.max_steps=4",
        "--trainer.val_check_interval=2",
        "--panel.size=8",
        "--trainer.callbacks+=tests.helpers.individual_recorders.RecordIndividuals",
        f"--trainer.callbacks.dirpath={record}",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "factdyn.cli", *args]  # Lightning re-launches rank 1 with the same command
    done = subprocess.run(cmd, check=True, env=env, cwd=tmp_path, timeout=300, capture_output=True, text=True)
    # The evaluation metrics are synced by torchmetrics (the other factdyn tags agree on every rank):
    # Lightning's advice to log them with sync_dist=True is not shown, nor its LitLogger tip.
    assert "sync_dist=True" not in done.stderr and "litlogger" not in done.stderr, done.stderr[-3000:]
    # Rank 0 alone claims the run directory (rank 1 runs the same command line).
    assert [d.name for d in (tmp_path / "logs" / "tiny").iterdir()] == ["version_0"]

    from factdyn.cli import cli_main

    dm = cli_main(tiny_args(tmp_path / "unused")[1:], run=False).datamodule
    dm.setup()
    from factdyn.data.stream import BiographyStream

    ranks = [json.loads((record / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world_size"] == 2 for r in ranks)
    for rank, rec in enumerate(ranks):
        assert sorted(map(int, rec["batches"])) == [0, 1, 2, 3]
        stream = BiographyStream(
            dm.assembler, dm.populations["train"], dm.sampler, dm.batch_size, dm.seed, 0, rank, True
        )
        for step, individuals in rec["batches"].items():
            # Full per-device batch, and exactly the stream's batch k for this rank (a pure function).
            assert len(individuals) == dm.batch_size
            np.testing.assert_array_equal(individuals, stream.batch_at(int(step)).individual)
    same = [ranks[0]["batches"][k] == ranks[1]["batches"][k] for k in ranks[0]["batches"]]
    assert not any(same), "the two ranks trained on the same individuals"
    assert (tmp_path / "logs").exists()

    # The knowledge panel, written by rank 0 alone: each row's exposures count both ranks' batches.
    from factdyn.dynamics.panel_table import read_panel

    table = read_panel(tmp_path / "logs" / "tiny" / "version_0" / "panel.csv.gz")
    assert table.steps().tolist() == [2, 4] and len(table) == 2 * 8
    for step in (2, 4):
        drawn = [i for rec in ranks for s, batch in rec["batches"].items() if int(s) < step for i in batch]
        counts = np.bincount(drawn, minlength=dm.n_train)
        rows = table.step == step
        assert table.exposures[rows].tolist() == counts[table.individual[rows]].tolist(), step
