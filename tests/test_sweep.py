"""``factdyn sweep``: grid expansion, skip/resume, the SLURM script, and a real sweep killed and resumed."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from factdyn.analysis.runs import read_scalars
from factdyn.cli import cli_main
from factdyn.run_layout import STATUS_INTERRUPTED, SUMMARY, last_checkpoint
from factdyn.sweep import LocalSweep, Sweep, main
from factdyn.training.checkpoint_files import save_checkpoint_file
from tests.conftest import CONFIGS, REPO, TINY
from tests.helpers.sweeps import in_process_probe, stub_python

SWEEPS = sorted((CONFIGS / "sweeps").rglob("*.yaml"))
PAPER_SCALE = CONFIGS / "sweeps" / "paper"
"""Paper-scale sweeps: their 44M-parameter runs are instantiated at the grid's corners only (first, last)."""


def write_sweep(tmp_path: Path, **fields) -> Path:
    data = {"name": "demo", "configs": [str(TINY)], "save_dir": str(tmp_path / "logs"), **fields}
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_grid_expands_to_cartesian_product_times_seeds_with_deterministic_names(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        grid={"data.n_individuals": [32, 64, 128], "model.lr": [0.001, 0.002]},
        seeds=[0, 1],
        overrides={"trainer.max_steps": 4},
    )
    runs = Sweep.load(path).expand()
    assert len(runs) == 3 * 2 * 2
    assert [r.index for r in runs] == list(range(12))
    names = [r.name for r in runs]
    assert len(set(names)) == 12 and names == [r.name for r in Sweep.load(path).expand()]
    assert names[0] == "demo-n_individuals=32-lr=0.001-seed=0"
    assert names[1] == "demo-n_individuals=32-lr=0.001-seed=1"
    assert {(r.params["data.n_individuals"], r.params["model.lr"], r.seed) for r in runs} == {
        (n, lr, s) for n in (32, 64, 128) for lr in (0.001, 0.002) for s in (0, 1)
    }
    run = runs[5]
    assert run.run_dir == tmp_path / "logs" / "demo" / run.name / "version_0"
    args = list(run.args)
    assert args[:2] == ["--config", str(TINY)]
    value = {a: b for a, b in zip(args[::2], args[1::2], strict=True)}
    assert value["--data.n_individuals"] == str(run.params["data.n_individuals"])
    assert value["--model.lr"] == str(run.params["model.lr"])
    assert value["--trainer.max_steps"] == "4"
    assert value["--seed_everything"] == str(run.seed)
    assert value["--trainer.logger.init_args.name"] == run.name
    assert value["--trainer.logger.init_args.version"] == "0"
    assert run.subcommand == ("fit",) and "--ckpt_path" not in args


def test_dict_values_and_shared_key_suffixes_get_readable_unique_names(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        grid={
            "model.lr": [0.001],
            "model.min_lr": [0.0],
            "data.sampler": [{"class_path": "factdyn.data.samplers.Uniform"}],
        },
    )
    (run,) = Sweep.load(path).expand()
    assert run.name == "demo-lr=0.001-min_lr=0.0-sampler=Uniform-seed=0"
    sampler = dict(zip(run.args[::2], run.args[1::2], strict=True))["--data.sampler"]
    assert json.loads(sampler) == {"class_path": "factdyn.data.samplers.Uniform"}
    clash = write_sweep(tmp_path, grid={"model.seed": [1], "data.seed": [2]})
    (run,) = Sweep.load(clash).expand()
    assert "model.seed=1" in run.name and "data.seed=2" in run.name


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"grid": {"data.n_individuals": []}}, "grid.data.n_individuals must be a non-empty list"),
        ({"seeds": ["a"]}, "seeds must be a non-empty list of integers"),
        ({"configs": ["nope.yaml"]}, "configs entry 'nope.yaml' does not exist"),
        ({"command": "validate"}, "command must be one of"),
        ({"colour": "red"}, "unknown sweep keys"),
        ({"grid": {"model.lr": [1]}, "overrides": {"model.lr": 2}}, "both in grid and overrides"),
    ],
)
def test_bad_sweep_files_fail_naming_the_field(tmp_path: Path, fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Sweep.load(write_sweep(tmp_path, **fields))


def fake_runner(calls: list):
    """Stands in for the subprocess: records the command and writes a summary like a finished run."""

    def run(spec, command, env, log):
        calls.append((spec.name, command, env["OMP_NUM_THREADS"]))
        (spec.run_dir / SUMMARY).write_text(json.dumps({"steps": 4}))
        return 0

    return run


def test_local_sweep_skips_finished_resumes_interrupted_and_starts_new(tmp_path: Path) -> None:
    runs = Sweep.load(write_sweep(tmp_path, grid={"data.n_individuals": [16, 32, 64]})).expand()
    finished, interrupted, new = runs
    finished.run_dir.mkdir(parents=True)
    (finished.run_dir / SUMMARY).write_text("{}")
    save_checkpoint_file({"global_step": 4, "optimizer_states": [{}]}, last_checkpoint(interrupted.run_dir))
    assert [r.status for r in runs] == ["finished", "resume", "new"]

    calls: list = []
    out = io.StringIO()
    sweep = LocalSweep(runs, parallel=2, threads=3, out=out, probe=in_process_probe)
    failed = sweep.run(runner=fake_runner(calls))
    assert failed == 0
    by_name = {name: command for name, command, _ in calls}
    assert set(by_name) == {interrupted.name, new.name}  # the finished run is not started again
    resume = by_name[interrupted.name]
    assert resume[resume.index("--ckpt_path") + 1] == str(last_checkpoint(interrupted.run_dir))
    assert "--ckpt_path" not in by_name[new.name]
    assert {threads for *_, threads in calls} == {"3"}
    log = out.getvalue()
    assert "1 finished (skipped), 1 to resume, 1 new" in log
    assert f"resuming {interrupted.name} from step 4 (last.ckpt)" in log and f"starting {new.name}" in log
    assert "3/3 done, 0 failed" in log
    record = json.loads((interrupted.run_dir / "sweep_run.json").read_text())
    assert record["params"] == {"data.n_individuals": 32} and record["command"] == resume


def test_failed_run_is_reported_and_counted(tmp_path: Path) -> None:
    runs = Sweep.load(write_sweep(tmp_path, grid={"data.n_individuals": [16, 32]})).expand()

    def runner(spec, command, env, log):
        log.write_text("Traceback ...\nValueError: data.n_individuals must be > 16\n")
        if spec.params["data.n_individuals"] == 16:
            return 1
        (spec.run_dir / SUMMARY).write_text("{}")
        return 0

    out = io.StringIO()
    assert LocalSweep(runs, out=out).run(runner=runner) == 1
    assert "FAILED (exit 1)" in out.getvalue() and "must be > 16" in out.getvalue()
    assert "1/2 finished, 1 failed" in out.getvalue()


def test_threads_default_to_cores_over_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    from factdyn.sweep import thread_count

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert thread_count(2) == 4 and thread_count(16) == 1 and thread_count(2, threads=3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert thread_count(1) == 2


def test_slurm_script_has_one_array_task_per_grid_point(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path, grid={"data.n_individuals": [16, 32, 64]}, seeds=[0, 1], slurm={"time": "01:00:00"}
    )
    script_path = tmp_path / "job.sh"
    assert main([str(path), "--slurm", str(script_path)]) == 0
    script = script_path.read_text()
    sweep = Sweep.load(path)
    runs = sweep.expand()
    assert script.startswith("#!/bin/bash\n") and os.access(script_path, os.X_OK)
    assert "#SBATCH --array=0-5\n" in script and "#SBATCH --time=01:00:00" in script
    cases = re.findall(r"^  (\d+)\) RUN_DIR=(\S+); ARGS=\((.*)\) ;;$", script, flags=re.M)
    assert [int(i) for i, _, _ in cases] == list(range(6))
    for (_, run_dir, args), run in zip(cases, runs, strict=True):
        assert shlex.split(run_dir) == [str(run.run_dir)]
        assert shlex.split(args) == ["fit", *run.args]
    assert 'CKPT=$("$PYTHON" -m factdyn.sweep.recover_run "$RUN_DIR")' in script
    assert 'ARGS+=(--ckpt_path "$CKPT")' in script
    assert not list((tmp_path / "logs" / "demo").glob("*/version_0"))  # nothing was run
    assert (tmp_path / "logs" / "demo").is_dir()  # the --output folder sbatch needs
    # The script is valid bash and picks the task's run (checked with a stub python that runs the real
    # recovery step and prints the run's command instead of running it).
    stub = stub_python(tmp_path / "python")
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "4", "PYTHON": str(stub), "PYTHONPATH": str(REPO)}
    out = subprocess.run(["bash", str(script_path)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["-m", "factdyn.cli", "fit", *runs[4].args]
    # With several tasks (DDP over GPUs) the run is started through srun.
    srun = tmp_path / "bin" / "srun"
    srun.parent.mkdir()
    srun.write_text('#!/bin/bash\necho srun "$@"\n')
    srun.chmod(0o755)
    env.update(SLURM_NTASKS="4", PATH=f"{srun.parent}{os.pathsep}{env['PATH']}", SLURM_ARRAY_TASK_ID="0")
    out = subprocess.run(["bash", str(script_path)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["srun", str(stub), "-m", "factdyn.cli", "fit", *runs[0].args]
    # A finished run is skipped by its array task.
    runs[0].run_dir.mkdir(parents=True)
    (runs[0].run_dir / SUMMARY).write_text("{}")
    out = subprocess.run(["bash", str(script_path)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.startswith("finished already")
    # One a SIGTERM stopped (its summary says so) is started again, to resume.
    (runs[0].run_dir / SUMMARY).write_text(json.dumps({"status": STATUS_INTERRUPTED, "steps": 4}, indent=2))
    out = subprocess.run(["bash", str(script_path)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["srun", str(stub), "-m", "factdyn.cli", "fit", *runs[0].args]


def test_dry_run_prints_commands_and_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write_sweep(tmp_path, grid={"data.n_individuals": [16, 32]})
    assert main([str(path), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len([line for line in lines if line.startswith("python -m factdyn.cli fit")]) == 2
    assert not (tmp_path / "logs").exists()


def holds(actual: Any, given: Any) -> bool:
    """The parsed value says what the sweep gave: equal, or for a mapping (a sampler's class_path and
    init_args) every given entry present, the parser having added the other arguments' defaults."""
    if isinstance(given, dict):
        actual = actual.as_dict() if hasattr(actual, "as_dict") else actual
        return isinstance(actual, dict) and all(k in actual and holds(actual[k], v) for k, v in given.items())
    return actual == given


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: str(p.relative_to(CONFIGS / "sweeps")))
def test_shipped_sweep_files_expand_and_every_run_instantiates(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # config paths in sweep files are relative to the repository root
    runs = Sweep.load(path, save_dir=str(tmp_path)).expand()
    assert runs
    for run in [runs[0], runs[-1]] if path.is_relative_to(PAPER_SCALE) else runs:
        assert run.subcommand == ("fit",)
        cli = cli_main(run.cli_args(), run=False)
        for key, value in run.params.items():
            assert holds(configured(cli.config, key), value), key
        assert Path(cli.trainer.log_dir) == run.run_dir


CALLBACK_ARGS = "trainer.callbacks.init_args."
"""A flag that sets an argument of the last callback of ``trainer.callbacks`` (jsonargparse's list rule)."""


def configured(config, key: str):
    """The parsed value a sweep key sets: ``config[key]``, or the last callback's init argument."""
    if key.startswith(CALLBACK_ARGS):
        return config["trainer.callbacks"][-1].init_args[key.removeprefix(CALLBACK_ARGS)]
    return config[key]


def sweep_process(sweep_file: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "factdyn.cli", "sweep", str(sweep_file), *extra],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so the test can kill the sweep and its runs at once
    )


@pytest.mark.slow
def test_sweep_killed_hard_resumes_from_last_checkpoint(tmp_path: Path) -> None:
    """A real sweep of two tiny runs is SIGKILLed mid-run and re-run: the killed run resumes, not restarts."""
    max_steps = 120
    path = write_sweep(
        tmp_path,
        grid={"data.n_individuals": [32, 48]},
        overrides={
            "trainer.max_steps": max_steps,
            "trainer.val_check_interval": 40,
            "last_checkpoint.every_n_train_steps": 10,
            "checkpoints.every_n_steps": 0,
        },
    )
    first, second = Sweep.load(path).expand()
    proc = sweep_process(path)
    deadline = time.monotonic() + 60
    while not last_checkpoint(first.run_dir).exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint within 60 s"
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (first.run_dir / SUMMARY).exists(), "the first run ended before the kill; make it longer"
    assert first.status == "resume"

    proc = sweep_process(path)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert f"resuming {first.name}" in out and f"starting {second.name}" in out
    for run in (first, second):
        summary = json.loads((run.run_dir / SUMMARY).read_text())
        assert summary["steps"] == max_steps
    # The killed run's first events file stops mid-run; the resumed one starts after step 0.
    events = sorted(first.run_dir.glob("events.out.tfevents.*"))
    assert len(events) >= 2
    steps_per_file = []
    for event_file in events:
        only = tmp_path / f"only_{event_file.name}"
        only.mkdir()
        (only / event_file.name).symlink_to(event_file)
        steps_per_file.append([s for s, _ in read_scalars(only, ["train/loss"]).get("train/loss", [])])
    assert steps_per_file[0] and max(steps_per_file[0]) < max_steps
    assert steps_per_file[-1] and min(steps_per_file[-1]) > 0 and max(steps_per_file[-1]) >= max_steps - 10
    assert "Restoring states from the checkpoint path" in (first.run_dir / "output.log").read_text()
    # Re-running a finished sweep does nothing.
    proc = sweep_process(path)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "2 finished (skipped)" in out and "starting" not in out


def test_sigterm_stops_the_running_runs_and_leaves_them_resumable(tmp_path: Path) -> None:
    """SIGTERM on the sweep: its runs get SIGTERM, nothing is marked finished, KeyboardInterrupt surfaces."""
    runs = Sweep.load(write_sweep(tmp_path, grid={"data.n_individuals": [16, 32, 64]})).expand()
    stub = tmp_path / "slow_python"
    stub.write_text(f"#!/bin/bash\necho $$ >> {tmp_path / 'pids'}\nexec sleep 60\n")
    stub.chmod(0o755)
    out = io.StringIO()
    sweep = LocalSweep(runs, parallel=2, threads=1, python=str(stub), out=out)

    def stop_when_started() -> None:
        while not (tmp_path / "pids").exists() or len((tmp_path / "pids").read_text().split()) < 2:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_started, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sweep.run()
    assert time.monotonic() - start < 20
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    assert len(pids) == 2  # the third run was never started
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert "interrupted; run the same command again to resume" in out.getvalue()
    assert sweep.done == 0 and not sweep.failed and not any(r.finished for r in runs)


def test_skip_archived_leaves_out_the_runs_archived_under_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A campaign resumed on a fresh clone (no run directories) skips what results/ already holds."""
    from factdyn.sweep.command import main as sweep_main

    monkeypatch.chdir(REPO)
    sweep_file = CONFIGS / "sweeps" / "tiny.yaml"
    names = [run.name for run in Sweep.load(sweep_file, save_dir=str(tmp_path / "logs")).expand()]
    (tmp_path / "results" / "tiny" / "seed_0" / names[0]).mkdir(parents=True)
    (tmp_path / "results" / "tiny" / "seed_0" / names[0] / "archive.json").write_text("{}")
    args = [str(sweep_file), "--save-dir", str(tmp_path / "logs"), "--dry-run"]
    assert sweep_main([*args, "--skip-archived", str(tmp_path / "results" / "tiny")]) == 0
    out = capsys.readouterr().out
    assert "1 runs archived" in out and names[0] not in out and names[1] in out
    with pytest.raises(SystemExit):
        sweep_main([*args[:-1], "--skip-archived", "results", "--slurm", str(tmp_path / "j.sh")])
