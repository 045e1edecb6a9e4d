"""Sweeps that recover: every interrupted run resumes from its newest checkpoint that can resume it or
restarts cleanly, no run outlives a killed sweep, and a SLURM script runs nothing a value smuggles in."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from factdyn import run_layout
from factdyn.analysis.runs import find_runs
from factdyn.checks import ConfigError
from factdyn.cli import cli_main
from factdyn.run_layout import SUMMARY, checkpoint_dir, last_checkpoint, step_filename
from factdyn.sweep import LocalSweep, Sweep, main, recover_run, recovery, slurm_script
from factdyn.sweep.parent_death import die_with_parent
from factdyn.sweep.recovery import RecoveryError, probe_subprocess, recover
from factdyn.training.checkpoint_files import save_checkpoint_file
from tests.helpers.runs import REPO, TINY
from tests.helpers.sweeps import in_process_probe


def write_sweep(tmp_path: Path, **fields) -> Path:
    data = {"name": "demo", "configs": [str(TINY)], "save_dir": str(tmp_path / "logs"), **fields}
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def full_checkpoint(run_dir: Path, step: int, name: str | None = None) -> Path:
    """A checkpoint an exact resume can start from (it holds the optimizer state)."""
    path = checkpoint_dir(run_dir) / (name or step_filename(step))
    save_checkpoint_file({"global_step": step, "optimizer_states": [{"state": {}}]}, path)
    return path


def lean_checkpoint(run_dir: Path, step: int) -> Path:
    """A scheduled checkpoint without the optimizer state (``checkpoints.optimizer_state: false``)."""
    path = checkpoint_dir(run_dir) / step_filename(step)
    save_checkpoint_file({"global_step": step, "state_dict": {}}, path)
    return path


def corrupt(path: Path) -> None:
    """Replace a checkpoint's bytes (a new file: scheduled and last checkpoints may share one by a hard link);
    its sidecar no longer matches."""
    path.unlink()
    path.write_bytes(b"PK\x03\x04 not a checkpoint any more")


def events(run_dir: Path) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "events.out.tfevents.0.host.1.0"
    path.write_bytes(b"events of the interrupted attempt")
    return path


def recording_runner(calls: dict):
    """Stands in for the run: records its command and what its directory held, then finishes it."""

    def run(spec, command, env, log):
        calls[spec.name] = (command, run_layout.holds_a_run(spec.run_dir))
        (spec.run_dir / SUMMARY).write_text(json.dumps({"steps": 8}))
        return 0

    return run


def resumed_from(command: list[str]) -> str | None:
    return command[command.index("--ckpt_path") + 1] if "--ckpt_path" in command else None


# --- 1. resume any interrupted run -------------------------------------------------------------------------


def test_runs_without_a_valid_last_ckpt_resume_from_their_newest_valid_checkpoint(tmp_path: Path) -> None:
    """Killed after its scheduled checkpoints but before last.ckpt; a corrupt last.ckpt. Both resume from the
    newest scheduled checkpoint (the choice ``fit --ckpt_path last`` makes)."""
    sweep = Sweep.load(write_sweep(tmp_path, grid={"data.n_individuals": [16, 32]}))
    killed_early, corrupt_last = sweep.expand()
    full_checkpoint(killed_early.run_dir, 4)
    newest = full_checkpoint(killed_early.run_dir, 8)
    events(killed_early.run_dir)
    older = full_checkpoint(corrupt_last.run_dir, 4)
    corrupt(full_checkpoint(corrupt_last.run_dir, 8, name=run_layout.LAST_CHECKPOINT))
    assert [r.status for r in (killed_early, corrupt_last)] == ["resume", "resume"]

    calls: dict = {}
    out = io.StringIO()
    pool = LocalSweep([killed_early, corrupt_last], parallel=2, out=out)
    pool.probe = in_process_probe  # the subprocess's answer without its seconds of importing torch
    assert pool.run(runner=recording_runner(calls)) == 0
    assert resumed_from(calls[killed_early.name][0]) == str(newest)
    assert resumed_from(calls[corrupt_last.name][0]) == str(older)
    log = out.getvalue()
    assert (
        f"resuming {killed_early.name} from step 8" in log
        and f"resuming {corrupt_last.name} from step 4" in log
    )
    assert re.search(r"skipping checkpoint .*last\.ckpt: (file|content) hash mismatch", log)
    record = json.loads((corrupt_last.run_dir / "sweep_run.json").read_text())
    assert resumed_from(record["command"]) == str(older)  # the record holds the exact command


def test_a_run_with_nothing_to_resume_is_set_aside_and_restarted_from_scratch(tmp_path: Path) -> None:
    """Only lean scheduled checkpoints (an exact resume needs the optimizer state), or killed before its
    first checkpoint: the attempt moves to abandoned/, the run restarts in an empty directory, and the
    report's run discovery sees only the new run."""
    sweep = Sweep.load(write_sweep(tmp_path, grid={"data.n_individuals": [16, 32]}))
    lean_only, no_checkpoint = sweep.expand()
    lean_checkpoint(lean_only.run_dir, 0)
    lean_checkpoint(lean_only.run_dir, 4)
    corrupt(full_checkpoint(lean_only.run_dir, 8, name=run_layout.LAST_CHECKPOINT))
    events(lean_only.run_dir)
    events(no_checkpoint.run_dir)
    (no_checkpoint.run_dir / "output.log").write_text("the first attempt's console output\n")
    assert [r.status for r in (lean_only, no_checkpoint)] == ["resume", "restart"]

    calls: dict = {}
    out = io.StringIO()
    pool = LocalSweep([lean_only, no_checkpoint], out=out)
    pool.probe = in_process_probe
    assert pool.run(runner=recording_runner(calls)) == 0
    for run in (lean_only, no_checkpoint):
        command, held_a_run = calls[run.name]
        assert resumed_from(command) is None and not held_a_run  # a fresh start in an empty directory
        attempt = run.run_dir.parent / run_layout.ABANDONED / "attempt_1"
        assert (attempt / "events.out.tfevents.0.host.1.0").is_file()
        assert f"moved the attempt to {attempt}; starting the run from scratch" in out.getvalue()
    assert (lean_only.run_dir.parent / "abandoned/attempt_1/checkpoints" / step_filename(4)).is_file()
    assert (
        "the first attempt's" in (no_checkpoint.run_dir.parent / "abandoned/attempt_1/output.log").read_text()
    )
    assert "no checkpoint can resume it" in out.getvalue()
    assert "before its first checkpoint" in out.getvalue()
    assert {r.path for r in find_runs(sweep.root)} == {lean_only.run_dir, no_checkpoint.run_dir}
    assert not run_layout.is_abandoned(tmp_path / "abandoned" / "abandoned-seed=0" / "version_0", tmp_path)

    # Interrupted again before a checkpoint: a second attempt beside the first, nothing overwritten.
    (no_checkpoint.run_dir / SUMMARY).unlink()
    events(no_checkpoint.run_dir)
    LocalSweep([no_checkpoint], out=io.StringIO(), probe=in_process_probe).run(runner=recording_runner(calls))
    assert sorted(p.name for p in (no_checkpoint.run_dir.parent / "abandoned").iterdir()) == [
        "attempt_1",
        "attempt_2",
    ]


def test_recovery_that_cannot_tell_fails_the_run_and_moves_nothing(tmp_path: Path) -> None:
    """A probe that fails (here: an interpreter without factdyn) never counts as 'nothing to resume'."""
    (run,) = Sweep.load(write_sweep(tmp_path)).expand()
    checkpoint = full_checkpoint(run.run_dir, 4)
    broken = tmp_path / "broken_python"
    broken.write_text("#!/bin/bash\necho 'No module named factdyn' >&2\nexit 1\n")
    broken.chmod(0o755)
    calls: dict = {}
    out = io.StringIO()
    assert LocalSweep([run], out=out, probe=probe_subprocess(str(broken))).run(recording_runner(calls)) == 1
    assert not calls and checkpoint.is_file()
    assert "cannot tell which checkpoint resumes it: No module named factdyn" in out.getvalue()
    assert not (run.run_dir.parent / run_layout.ABANDONED).exists()

    # A version_1 beside the sweep's version_0 (made by hand): refused, not guessed at.
    (run.run_dir.parent / "version_1").mkdir()
    with pytest.raises(RecoveryError, match="holds other runs"):
        recover(run.run_dir, in_process_probe)
    assert checkpoint.is_file()


def test_recover_run_tells_the_slurm_script_what_to_resume_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(recovery, "probe_subprocess", lambda: in_process_probe)
    corrupt_last, killed = Sweep.load(write_sweep(tmp_path, grid={"data.n_individuals": [16, 32]})).expand()
    step = full_checkpoint(corrupt_last.run_dir, 4)
    corrupt(full_checkpoint(corrupt_last.run_dir, 8, name=run_layout.LAST_CHECKPOINT))
    assert recover_run.main([str(corrupt_last.run_dir)]) == 0
    printed = capsys.readouterr()
    assert printed.out == f"{step}\n" and "skipping checkpoint" in printed.err
    events(killed.run_dir)
    assert recover_run.main([str(killed.run_dir)]) == 0
    printed = capsys.readouterr()
    assert printed.out == "" and "starting the run from scratch" in printed.err
    assert not killed.run_dir.exists()


def test_a_stop_during_the_probe_starts_nothing(tmp_path: Path) -> None:
    """SIGTERM while a run's resume checkpoint is being probed: the run is not started after the stop."""
    (run,) = Sweep.load(write_sweep(tmp_path)).expand()
    full_checkpoint(run.run_dir, 4)

    def probe_then_stop(run_dir: Path):
        time.sleep(0.5)  # the main thread is waiting on the runs by now
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)  # the main thread handles the stop meanwhile
        return in_process_probe(run_dir)

    calls: dict = {}
    pool = LocalSweep([run], out=io.StringIO(), probe=probe_then_stop)
    with pytest.raises(KeyboardInterrupt):
        pool.run(runner=recording_runner(calls))
    assert not calls and not run.finished


@pytest.mark.slow
def test_real_sweep_recovers_killed_corrupt_and_lean_runs(tmp_path: Path) -> None:
    """Real runs in each interrupted state, then the sweep: every run finishes, two by resuming."""
    path = write_sweep(
        tmp_path,
        grid={"data.n_individuals,checkpoints.optimizer_state": [[32, True], [40, True], [48, False]]},
        overrides={"trainer.max_steps": 12, "last_checkpoint.every_n_train_steps": 100},
    )
    killed, corrupt_last, lean = runs = Sweep.load(path).expand()
    for run in runs:
        cli_main([*run.subcommand, *run.cli_args()])
        for name in (SUMMARY, f"checkpoints/{step_filename(12)}", f"checkpoints/{step_filename(12)}.sha256"):
            (run.run_dir / name).unlink()
    for run in (killed, lean):
        last_checkpoint(run.run_dir).unlink()
        Path(f"{last_checkpoint(run.run_dir)}.sha256").unlink()
    corrupt(last_checkpoint(corrupt_last.run_dir))

    assert main([str(path)]) == 0
    for run in runs:
        assert json.loads((run.run_dir / SUMMARY).read_text())["steps"] == 12
    for run in (killed, corrupt_last):
        restored = checkpoint_dir(run.run_dir) / step_filename(8)
        assert (
            f"Restoring states from the checkpoint path at {restored}"
            in (run.run_dir / "output.log").read_text()
        )
    assert "Restoring states" not in (lean.run_dir / "output.log").read_text()
    assert (lean.run_dir.parent / "abandoned" / "attempt_1" / "checkpoints" / step_filename(8)).is_file()
    assert sorted(r.path for r in find_runs(tmp_path / "logs")) == sorted(r.run_dir for r in runs)


# --- 2. no orphan writers ----------------------------------------------------------------------------------


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie nobody reaped yet is dead too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_runs_die_when_the_sweep_is_killed_hard(tmp_path: Path) -> None:
    """SIGKILL of the sweep process alone (not its group): its running run goes too, within seconds."""
    sweep_file = write_sweep(tmp_path, grid={"data.n_individuals": [16]})
    pids = tmp_path / "pids"
    long_run = tmp_path / "long_python"
    long_run.write_text(f"#!/bin/bash\necho $$ >> {pids}\nexec sleep 120\n")
    long_run.chmod(0o755)
    code = "import sys; from factdyn.sweep import LocalSweep, Sweep; "
    code += "LocalSweep(Sweep.load(sys.argv[1]).expand(), python=sys.argv[2]).run()"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    parent = subprocess.Popen([sys.executable, "-c", code, str(sweep_file), str(long_run)], env=env)
    run_pid = None
    try:
        deadline = time.monotonic() + 30
        while not (pids.exists() and pids.read_text().strip()):
            assert parent.poll() is None and time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        run_pid = int(pids.read_text().split()[0])
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while alive(run_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(run_pid), "the run outlived the sweep that started it"
    finally:
        parent.kill()
        if run_pid is not None and alive(run_pid):
            os.kill(run_pid, signal.SIGKILL)


def test_parent_death_degrades_to_nothing_where_the_platform_has_no_such_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert die_with_parent() is None
    out = subprocess.run(["true"], preexec_fn=die_with_parent())  # Popen takes None: a plain start
    assert out.returncode == 0


# --- 3. SLURM scripts that run nothing injected ------------------------------------------------------------


def argv_recorder(path: Path, record: Path) -> Path:
    """A stand-in interpreter: runs the real recovery step, records any other command line as JSON."""
    path.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "if sys.argv[1:3] == ['-m', 'factdyn.sweep.recover_run']:\n"
        "    from factdyn.sweep.recover_run import main\n"
        "    sys.exit(main(sys.argv[3:]))\n"
        f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    path.chmod(0o755)
    return path


def run_script(script: Path, tmp_path: Path, task: int = 0) -> list[str]:
    """Run a generated job script as SLURM would start a task; the command it ends in, as an argv."""
    record = tmp_path / "argv.json"
    python = argv_recorder(tmp_path / "python", record)
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": str(task), "PYTHON": str(python), "PYTHONPATH": str(REPO)}
    subprocess.run(["bash", "-n", str(script)], check=True)
    subprocess.run(["bash", str(script)], env=env, check=True, capture_output=True, text=True)
    return json.loads(record.read_text())


def directives(script: str) -> list[list[str]]:
    """Each ``#SBATCH`` line's words as sbatch reads them (shell-like quoting)."""
    return [shlex.split(line[len("#SBATCH") :]) for line in script.splitlines() if line.startswith("#SBATCH")]


@pytest.mark.parametrize(
    "slurm, save_dir, key",
    [
        ({"time": "01:00:00\ntouch {marker}"}, None, "slurm.time"),
        ({"partition": "gpu\r\ntouch {marker}"}, None, "slurm.partition"),
        ({"comment": "a\x00b"}, None, "slurm.comment"),
        ({"time\ntouch {marker}": "01:00:00"}, None, "slurm"),
        ({"gres=gpu:1 --x": "1"}, None, "slurm"),
        ({"mem": ["4G"]}, None, "slurm.mem"),
        ({"exclusive": False}, None, "slurm.exclusive"),
        ({}, "{tmp}/logs\ntouch {marker};", "save_dir"),
    ],
)
def test_values_no_directive_can_hold_are_refused_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture, slurm: dict, save_dir: str | None, key: str
) -> None:
    marker = tmp_path / "INJECTED"

    def fill(text: str) -> str:
        return text.format(marker=marker, tmp=tmp_path)

    slurm = {fill(k): fill(v) if isinstance(v, str) else v for k, v in slurm.items()}
    path = write_sweep(tmp_path, slurm=slurm)
    script = tmp_path / "job.sh"
    extra = ["--save-dir", fill(save_dir)] if save_dir else []
    assert main([str(path), "--slurm", str(script), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"factdyn sweep: error: {key}: ")
    sweep = Sweep.load(path, save_dir=fill(save_dir) if save_dir else None)
    with pytest.raises(ConfigError) as raised:
        slurm_script(sweep, sweep.expand())
    assert raised.value.field == key
    assert not script.exists() and not marker.exists() and not (tmp_path / "logs").exists()


def test_hostile_but_legal_values_are_quoted_and_run_nothing(tmp_path: Path) -> None:
    """Shell syntax in values (command substitution, backticks, quotes, spaces, #) stays data: sbatch reads
    each directive back to the value as written, and bash runs the task's command with the exact arguments."""
    marker = tmp_path / "INJECTED"
    hostile = {
        "time": "01:00:00",
        "partition": "gpu-long",
        "job-name": f"$(touch {marker})",
        "comment": f'`touch {marker}` it\'s "quoted" # not a comment; touch {marker}',
        "mail-user": "a b@example.org",
        "exclusive": True,
        "cpus-per-task": 4,
    }
    save_dir = tmp_path / f"logs with spaces $(touch {marker}) `touch {marker}` 'q\""
    path = write_sweep(tmp_path, slurm=hostile, overrides={"model.lr": 0.002})
    script_path = tmp_path / "job.sh"
    assert main([str(path), "--slurm", str(script_path), "--save-dir", str(save_dir)]) == 0
    script = script_path.read_text()
    words = directives(script)
    assert [f"--{k}" if v is True else f"--{k}={v}" for k, v in hostile.items()] == [w[0] for w in words[3:]]
    assert all(len(w) == 1 for w in words)
    assert words[2] == [f"--output={save_dir}/demo/slurm-%A_%a.out"]
    assert "#SBATCH --time=01:00:00\n" in script and "#SBATCH --partition=gpu-long\n" in script
    (run,) = Sweep.load(path, save_dir=str(save_dir)).expand()
    assert run_script(script_path, tmp_path) == ["-m", "factdyn.cli", "fit", *run.args]
    assert not marker.exists()
