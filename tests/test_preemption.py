"""SIGTERM (SLURM's pre-emption signal) during fit: a checkpoint at a step's end, summary.json with
``status: interrupted``, exit status 143, and ``--ckpt_path last`` continuing from exactly that step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from factdyn.analysis.runs import read_scalars
from factdyn.callbacks.data_stream_recorder import read_stream
from factdyn.callbacks.preemption import EXIT_INTERRUPTED, PreemptionCheckpoint
from factdyn.run_layout import (
    STATUS_INTERRUPTED,
    is_finished,
    last_checkpoint,
    summary_path,
    summary_status,
)
from tests.helpers.runs import REPO, tiny_args

MAX_STEPS = 16


def fit_cmd(log_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "factdyn.cli",
        *tiny_args(
            log_dir,
            f"--trainer.max_steps={MAX_STEPS}",
            "--trainer.val_check_interval=4",
            "--trainer.callbacks+=factdyn.callbacks.DataStreamRecorder",
            *extra,
        ),
    ]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def test_sigterm_in_a_validation_lets_it_finish_and_stops_after_the_next_step(tmp_path: Path) -> None:
    """In-process: SIGTERM after the first evaluation batch of step 4's validation. The validation ends
    (every metric of step 4 is logged), the run trains step 5, saves last.ckpt there and exits 143."""
    from factdyn.cli import cli_main

    args = tiny_args(
        tmp_path,
        "--trainer.max_steps=8",
        "--data.eval_batch_size=8",  # two evaluation batches per set: the signal lands inside one
        "--trainer.callbacks+=tests.helpers.fault_callbacks.SigtermAt",
        "--trainer.callbacks.step=4",
        "--trainer.callbacks.during=validation",
    )
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as stopped:
        cli_main(args)
    assert stopped.value.code == EXIT_INTERRUPTED
    run_dir = tmp_path / "tiny" / "version_0"
    summary = json.loads(summary_path(run_dir).read_text())
    assert summary["status"] == STATUS_INTERRUPTED and summary["steps"] == 5
    assert torch.load(last_checkpoint(run_dir), map_location="cpu", weights_only=False)["global_step"] == 5
    logged = read_scalars(run_dir, ["val/attr_loss", "unseen/attr_loss"])
    assert [step for step, _ in logged["val/attr_loss"]] == [4]
    assert [step for step, _ in logged["unseen/attr_loss"]] == [4]
    assert signal.getsignal(signal.SIGTERM) is before  # the run's handler is gone with the run


@pytest.mark.slow
def test_sigterm_checkpoints_reports_interrupted_and_resumes(tmp_path: Path) -> None:
    slow = ["--trainer.callbacks+=tests.helpers.fault_callbacks.SlowDown", "--trainer.callbacks.seconds=0.3"]
    proc = subprocess.Popen(
        fit_cmd(tmp_path, *slow), cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    run_dir = tmp_path / "tiny" / "version_0"
    deadline = time.time() + 240
    try:
        while not last_checkpoint(run_dir).exists():  # the first last.ckpt: step 4
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "no checkpoint within the time allowed"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == EXIT_INTERRUPTED, err.decode()[-2000:]

    summary = json.loads(summary_path(run_dir).read_text())
    assert summary["status"] == STATUS_INTERRUPTED and not is_finished(run_dir)
    step = summary["steps"]
    assert 4 <= step < MAX_STEPS, step
    saved = torch.load(last_checkpoint(run_dir), map_location="cpu", weights_only=False)
    assert saved["global_step"] == step and "optimizer_states" in saved  # a full, resumable state
    assert b"SIGTERM: stopped after step" in err and b"interrupted (SIGTERM)" in out

    resume = fit_cmd(tmp_path, "--ckpt_path=last")
    resumed = subprocess.run(resume, cwd=tmp_path, env=env(), capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    assert not (tmp_path / "tiny" / "version_1").exists()  # the same run directory
    final = json.loads(summary_path(run_dir).read_text())
    assert final["status"] == "finished" and final["steps"] == MAX_STEPS and is_finished(run_dir)
    # Every step trained exactly once over the two processes: the stop and the resume are at one step.
    lines = (run_dir / "data_stream.jsonl").read_text().splitlines()
    assert len(lines) == MAX_STEPS and sorted(read_stream(run_dir / "data_stream.jsonl")) == list(range(16))
    assert [json.loads(line)["step"] for line in lines][step] == step


def test_an_interrupted_summary_is_not_a_finished_run(tmp_path: Path) -> None:
    assert summary_status(tmp_path) is None and not is_finished(tmp_path)
    summary_path(tmp_path).write_text(json.dumps({"status": STATUS_INTERRUPTED, "steps": 5}))
    assert summary_status(tmp_path) == STATUS_INTERRUPTED and not is_finished(tmp_path)
    summary_path(tmp_path).write_text(json.dumps({"steps": 5}))  # written before statuses existed
    assert is_finished(tmp_path)


def test_lightning_own_sigterm_exit_is_not_zero() -> None:
    """A SIGTERM Lightning handles itself (before training starts, validate, test) exits 143, not 0."""
    exception = SIGTERMException()
    PreemptionCheckpoint().on_exception(None, None, exception)  # type: ignore[arg-type]
    assert exception.code == EXIT_INTERRUPTED
