"""Exact resume after SIGKILL: the resumed run sees the same data and logs the same metrics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from factdyn.analysis.runs import read_scalars
from factdyn.callbacks.data_stream_recorder import read_stream
from tests.helpers.runs import REPO, TINY

MAX_STEPS = 24
KILL_AFTER_STEP = 8

# One entry per sampler; add stateful samplers here as they land (extra CLI args, extra callbacks).
SAMPLERS = {
    "uniform": [],
    "adaptive_warmup": [
        "--data.sampler",
        "factdyn.data.AdaptiveWarmUp",
        "--data.sampler.warmup_individuals",
        "16",
        "--trainer.callbacks+=tests.helpers.fault_callbacks.SwitchSamplerAt",
        "--trainer.callbacks.step",
        "6",
    ],
}
EVAL_TAGS = ("val/attr_loss", "val/attr_acc", "unseen/attr_loss", "train/loss")


def fit_cmd(log_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "factdyn.cli",
        "fit",
        "--config",
        str(TINY),
        "--trainer.logger.init_args.save_dir",
        str(log_dir),
        "--trainer.max_steps",
        str(MAX_STEPS),
        "--trainer.val_check_interval",
        "4",
        "--trainer.log_every_n_steps",
        "1",
        "--last_checkpoint.every_n_train_steps",
        "4",
        "--trainer.callbacks+=factdyn.callbacks.DataStreamRecorder",
        *extra,
    ]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def ckpt_step(path: Path) -> int:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=False)["global_step"])
    except Exception:  # being replaced right now
        return -1


def last_values(run_dir: Path) -> dict[str, dict[int, float]]:
    return {tag: dict(values) for tag, values in read_scalars(run_dir, list(EVAL_TAGS)).items()}


def run_killed_and_resumed(log_dir: Path, extra: list[str]) -> tuple[Path, int]:
    """Run, SIGKILL once last.ckpt holds step >= KILL_AFTER_STEP, resume with --ckpt_path last."""
    proc = subprocess.Popen(
        fit_cmd(
            log_dir,
            *extra,
            "--trainer.callbacks+=tests.helpers.fault_callbacks.SlowDown",
            "--trainer.callbacks.seconds",
            "0.3",
        ),
        cwd=REPO,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    last = log_dir / "tiny" / "version_0" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            if last.exists() and ckpt_step(last) >= KILL_AFTER_STEP:
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    resume_step = ckpt_step(last)
    assert KILL_AFTER_STEP <= resume_step < MAX_STEPS
    subprocess.run(
        fit_cmd(log_dir, *extra, "--ckpt_path", "last"), cwd=REPO, env=env(), check=True, capture_output=True
    )
    return log_dir / "tiny" / "version_0", resume_step


@pytest.mark.slow
@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path: Path, sampler: str) -> None:
    extra = SAMPLERS[sampler]
    subprocess.run(fit_cmd(tmp_path / "ref", *extra), cwd=REPO, env=env(), check=True, capture_output=True)
    ref_dir = tmp_path / "ref" / "tiny" / "version_0"
    run_dir, resume_step = run_killed_and_resumed(tmp_path / "killed", extra)
    assert not (tmp_path / "killed" / "tiny" / "version_1").exists()  # resumed in the same run directory

    ref_stream, stream = (
        read_stream(ref_dir / "data_stream.jsonl"),
        read_stream(run_dir / "data_stream.jsonl"),
    )
    assert sorted(stream) == list(range(MAX_STEPS)) == sorted(ref_stream)
    for step in range(MAX_STEPS):  # bitwise: the same individuals and the same token bytes at every step
        assert stream[step] == ref_stream[step], f"step {step} differs (resumed from {resume_step})"

    ref, got = last_values(ref_dir), last_values(run_dir)
    eval_steps = sorted(ref["val/attr_loss"])
    assert eval_steps == list(range(4, MAX_STEPS + 1, 4))
    assert sorted(got["val/attr_loss"]) == eval_steps  # evaluated at the same global steps
    for tag in EVAL_TAGS:
        for step, value in ref[tag].items():
            if step >= resume_step:
                assert got[tag][step] == pytest.approx(value, abs=1e-5), (tag, step)
