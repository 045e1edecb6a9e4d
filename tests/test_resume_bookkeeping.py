"""Resume bookkeeping and run directories: TensorBoard events and step numbers of a resumed run equal an
uninterrupted run's; a resume continues only the interrupted run, with its own hyperparameters, and leaves
the run as it was when it fails; concurrent starts get distinct run directories."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from factdyn.analysis.runs import read_scalars
from factdyn.checks import ConfigError
from factdyn.cli import FactdynCLI, cli_main
from factdyn.training.checkpoint_files import load_verified
from factdyn.training.run_directory import (
    ResumeError,
    ResumePoint,
    claim_run_directory,
    refuse_contradicting_flags,
)
from tests.helpers.runs import REPO, tiny_args

STEPS = ["--trainer.max_steps", "12"]
CRASH_AT_10 = ["--trainer.callbacks+=tests.helpers.fault_callbacks.CrashAt", "--trainer.callbacks.step", "10"]


def events(run_dir: Path) -> tuple[Counter, dict[tuple[str, int], float]]:
    """Every scalar point of a run as TensorBoard shows it: all event files of the directory, read in order
    by one accumulator (which applies a resumed file's purge), counted per (tag, step)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    counts: Counter = Counter()
    values: dict[tuple[str, int], float] = {}
    for tag in acc.Tags()["scalars"]:
        for e in acc.Scalars(tag):
            counts[(tag, e.step)] += 1
            values[(tag, e.step)] = e.value
    return counts, values


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run directory of the same run, not interrupted."""
    return Path(cli_main(tiny_args(tmp_path_factory.mktemp("ref") / "logs", *STEPS)).trainer.log_dir)


def crashed_run(logs: Path) -> Path:
    """A run that died at the start of step 10: checkpoints up to step 8 (last.ckpt at 8), events to 9."""
    with pytest.raises(RuntimeError, match="CrashAt"):
        cli_main(tiny_args(logs, *STEPS, *CRASH_AT_10))
    run_dir = logs / "tiny" / "version_0"
    assert load_verified(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 8
    assert not (run_dir / "summary.json").exists()
    return run_dir


def snapshot(run_dir: Path) -> dict[str, tuple[int, int]]:
    """Every file of a run directory with its size and modification time."""
    return {str(p.relative_to(run_dir)): (p.stat().st_size, p.stat().st_mtime_ns) for p in run_dir.rglob("*")}


@pytest.mark.parametrize("resume_from", ["last", "step=00000000.ckpt"])
def test_resumed_events_equal_an_uninterrupted_run(
    tmp_path: Path, uninterrupted: Path, resume_from: str
) -> None:
    """Each (tag, step) once, at the step numbers of the uninterrupted run: from step 8, the interrupted
    process's events at steps 8 and 9 are purged; from the step-0 checkpoint, train/* points kept their
    steps (they came log_every_n_steps later)."""
    run_dir = crashed_run(tmp_path / "logs")
    ckpt = "last" if resume_from == "last" else str(run_dir / "checkpoints" / resume_from)
    resumed = cli_main(tiny_args(tmp_path / "logs", *STEPS, "--ckpt_path", ckpt))
    assert Path(resumed.trainer.log_dir) == run_dir
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 2

    counts, values = events(run_dir)
    want_counts, want_values = events(uninterrupted)
    assert {k: n for k, n in counts.items() if n > 1} == {}
    train = sorted(k for k in counts if k[0].startswith("train/"))
    assert train == sorted(k for k in want_counts if k[0].startswith("train/"))
    assert set(counts) == set(want_counts)
    for key, value in want_values.items():
        assert values[key] == pytest.approx(value, abs=1e-5), key
    got, want = read_scalars(run_dir), read_scalars(uninterrupted)
    assert sorted(got) == sorted(want)
    for tag, points in want.items():
        assert [s for s, _ in got[tag]] == [s for s, _ in points], tag
        assert dict(got[tag]) == pytest.approx(dict(points), abs=1e-5), tag


def test_read_scalars_honours_a_resumed_files_purge(tmp_path: Path) -> None:
    """An interrupted process logged steps 0..9; its resume from step 4 wrote 4 and 5 and stopped (say, a
    smaller max_steps): steps 6..9 of the first process are purged, as TensorBoard shows the run."""
    from torch.utils.tensorboard import SummaryWriter

    first = SummaryWriter(str(tmp_path), filename_suffix=".1")
    for step in range(10):
        first.add_scalar("a", float(step), step)
    first.close()
    resumed = SummaryWriter(str(tmp_path), purge_step=4, filename_suffix=".2")
    for step in (4, 5):
        resumed.add_scalar("a", 10.0 + step, step)
    resumed.close()
    assert read_scalars(tmp_path)["a"] == [(0, 0.0), (1, 1.0), (2, 2.0), (3, 3.0), (4, 14.0), (5, 15.0)]
    assert read_scalars(tmp_path / "no_run") == {}
    # A directory whose name contains "tfevents" is still read as a directory.
    named = tmp_path / "elsewhere" / "copy_of_events.out.tfevents.x"
    named.mkdir(parents=True)
    for events in tmp_path.glob("events.out.tfevents.*"):
        (named / events.name).write_bytes(events.read_bytes())
    assert read_scalars(named) == read_scalars(tmp_path)


def test_last_resumes_only_the_newest_run_and_never_a_finished_one(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    finished = Path(cli_main(tiny_args(logs, "--trainer.max_steps", "4")).trainer.log_dir)
    before = snapshot(finished)
    died = finished.parent / "version_1"  # killed before its first checkpoint
    died.mkdir()
    (died / "config.yaml").write_text("seed_everything: 0\n")
    with pytest.raises(
        ResumeError, match=r"^ckpt_path: version_1 has no checkpoint to resume .*start afresh"
    ):
        cli_main(tiny_args(logs, "--trainer.max_steps", "8", "--ckpt_path", "last"))
    assert snapshot(finished) == before
    assert sorted(p.name for p in died.iterdir()) == ["config.yaml"]

    died.joinpath("config.yaml").unlink()
    died.rmdir()
    last = str(finished / "checkpoints" / "last.ckpt")
    for ckpt in ("last", last):  # the newest run now, and finished: refused either way
        with pytest.raises(ResumeError, match=r"^ckpt_path: version_0 .* finished \(it has summary.json\)"):
            cli_main(tiny_args(logs, "--trainer.max_steps", "8", "--ckpt_path", ckpt))
    assert snapshot(finished) == before
    assert sorted(p.name for p in finished.parent.iterdir()) == ["version_0"]


@pytest.mark.parametrize(
    ("flags", "ckpt", "message"),
    [
        (["--model.lr", "0.01"], "last", "model.lr: 0.001 as in the checkpoint being resumed"),
        # An explicit file: LightningCLI would parse its hyperparameters over the flag (dropped silently).
        (["--model.lr", "0.01"], "file", "model.lr: 0.001 as in the checkpoint being resumed"),
        (["--model.config.n_layer", "3"], "last", "model.config.n_layer: 2 as in the checkpoint"),
        (
            ["--seed_everything", "1"],
            "last",
            "data.seed (linked from seed_everything): 0 as in the checkpoint",
        ),
        (["--trainer.callbacks+=tests.helpers.fault_callbacks.FailOnLoad"], "last", "FailOnLoad"),
    ],
    ids=["lr", "lr_file", "n_layer", "seed", "restore_fails"],
)
def test_a_refused_or_failed_resume_leaves_the_run_as_it_was(
    tmp_path: Path, flags: list[str], ckpt: str, message: str
) -> None:
    run_dir = crashed_run(tmp_path / "logs")
    before, config = snapshot(run_dir), (run_dir / "config.yaml").read_bytes()
    ckpt = str(run_dir / "checkpoints" / "last.ckpt") if ckpt == "file" else ckpt
    with pytest.raises((ConfigError, RuntimeError)) as err:
        cli_main(tiny_args(tmp_path / "logs", *STEPS, *flags, "--ckpt_path", ckpt))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert (run_dir / "config.yaml").read_bytes() == config
    assert snapshot(run_dir) == before


def test_execution_only_fields_may_change_on_resume() -> None:
    saved = {
        "model": {"config": {"n_layer": 2, "attention": "fused"}, "compile": False, "betas": (0.9, 0.95)}
    }
    resume = ResumePoint(Path("x.ckpt"), 4, None, saved)
    same = {
        "model": {"config": {"n_layer": 2, "attention": "explicit"}, "compile": True, "betas": [0.9, 0.95]}
    }
    refuse_contradicting_flags(resume, same, {})
    with pytest.raises(
        ConfigError, match=r"^model.betas: \[0.9, 0.95\] as in the checkpoint .*got \[0.9, 0.9\]"
    ):
        refuse_contradicting_flags(resume, {"model": {**same["model"], "betas": (0.9, 0.9)}}, {})


def test_concurrent_claims_get_distinct_run_directories(tmp_path: Path) -> None:
    (tmp_path / "runs" / "version_3").mkdir(parents=True)
    n = 8
    barrier, claimed = threading.Barrier(n), []

    def claim() -> None:
        barrier.wait()
        claimed.append(claim_run_directory(tmp_path / "runs").name)

    threads = [threading.Thread(target=claim) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed, key=lambda name: int(name.split("_")[1])) == [f"version_{k}" for k in range(4, 12)]
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(ConfigError, match=r"^trainer.logger.init_args.save_dir: a directory where a run"):
        claim_run_directory(blocked / "runs")


def test_a_fit_started_while_another_starts_writes_its_own_run(tmp_path: Path, monkeypatch) -> None:
    """A second fit starts, and runs to its end, after the first was set up but before it wrote anything
    (the window where Lightning's next free version was the same for both): each has its own run."""
    instantiate = FactdynCLI.instantiate_trainer
    second: list[FactdynCLI] = []

    def then_another_fit_starts(self: FactdynCLI, **kwargs: Any) -> Any:
        trainer = instantiate(self, **kwargs)
        if not second:
            second.append(self)  # a placeholder: the nested fit below must not start a third one
            second[0] = cli_main(tiny_args(tmp_path / "logs", "--trainer.max_steps", "2"))
        return trainer

    monkeypatch.setattr(FactdynCLI, "instantiate_trainer", then_another_fit_starts)
    first = cli_main(tiny_args(tmp_path / "logs", "--trainer.max_steps", "2"))
    dirs = [Path(first.trainer.log_dir), Path(second[0].trainer.log_dir)]
    assert sorted(d.name for d in dirs) == ["version_0", "version_1"]
    for run_dir in dirs:
        assert load_verified(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 2
        assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1


@pytest.mark.slow
def test_two_cli_processes_started_together_write_distinct_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "factdyn.cli", *tiny_args(tmp_path / "logs", "--trainer.max_steps", "2")]
    logs = [tmp_path / f"stderr{k}.txt" for k in range(2)]  # files, not pipes: nothing blocks a writer
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
        for log in logs
    ]
    for proc, log in zip(procs, logs, strict=True):
        assert proc.wait(timeout=300) == 0, log.read_text()[-2000:]
    runs = sorted((tmp_path / "logs" / "tiny").iterdir())
    assert [d.name for d in runs] == ["version_0", "version_1"]
    for run_dir in runs:
        assert load_verified(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 2
