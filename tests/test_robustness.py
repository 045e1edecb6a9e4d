"""Safe checkpoints, fallback on corrupt files, no overwritten runs, non-finite losses, fast_dev_run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from factdyn.analysis.runs import read_scalars
from factdyn.callbacks import NonFiniteLossError
from factdyn.callbacks.data_stream_recorder import read_stream
from factdyn.cli import cli_main
from factdyn.training.checkpoint_files import (
    CorruptCheckpointError,
    load_verified,
    save_checkpoint_file,
    sidecar,
)
from factdyn.training.checkpoint_io import AtomicCheckpointIO
from factdyn.training.module import FactLearner
from factdyn.training.run_directory import find_resume_checkpoint
from tests.helpers.runs import tiny_args

RECORD = "--trainer.callbacks+=factdyn.callbacks.DataStreamRecorder"


def corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flip":
        i = len(data) // 2
        path.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])
    elif how == "garbage_no_hash":
        path.write_bytes(b"not a checkpoint")
        sidecar(path).unlink()


def test_atomic_write_hash_and_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "a" / "x.ckpt"
    digest = save_checkpoint_file({"global_step": 3, "w": torch.arange(4.0)}, path)
    assert sidecar(path).read_text() == f"{digest}  x.ckpt\n"  # sha256sum -c format
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.ckpt", "x.ckpt.sha256"]  # no *.tmp left
    assert load_verified(path)["global_step"] == 3
    for how in ("truncate", "flip", "garbage_no_hash"):
        save_checkpoint_file({"global_step": 3, "w": torch.arange(4.0)}, path)
        corrupt(path, how)
        with pytest.raises(CorruptCheckpointError) as err:
            load_verified(path)
        message = str(err.value)
        assert message.startswith(str(path)) and "\n" not in message, message


def test_two_saves_of_one_step_share_one_file(tmp_path: Path, monkeypatch) -> None:
    io = AtomicCheckpointIO(config="c")
    state = {"global_step": 5, "epoch": 0, "state_dict": {"w": torch.arange(3.0)}}
    io.save_checkpoint(dict(state), tmp_path / "step=5.ckpt")
    io.save_checkpoint(dict(state), tmp_path / "last.ckpt")
    assert (tmp_path / "last.ckpt").stat().st_ino == (tmp_path / "step=5.ckpt").stat().st_ino
    assert (
        sidecar(tmp_path / "last.ckpt").read_text().split()[0]
        == sidecar(tmp_path / "step=5.ckpt").read_text().split()[0]
    )
    assert load_verified(tmp_path / "last.ckpt")["factdyn"]["step"] == 5
    # A later step writes a new file under last.ckpt; the scheduled file keeps its content.
    io.save_checkpoint({**state, "global_step": 6}, tmp_path / "last.ckpt")
    assert (tmp_path / "last.ckpt").stat().st_ino != (tmp_path / "step=5.ckpt").stat().st_ino
    assert load_verified(tmp_path / "step=5.ckpt")["global_step"] == 5
    assert load_verified(tmp_path / "last.ckpt")["global_step"] == 6
    # The same step after an evaluation (loop progress moved) is written, not linked.
    io.save_checkpoint({**state, "global_step": 6, "loops": {"val": 1}}, tmp_path / "after_eval.ckpt")
    assert (tmp_path / "after_eval.ckpt").stat().st_ino != (tmp_path / "last.ckpt").stat().st_ino
    # Other content at the same step (here: weights only) is written, not linked.
    io.save_checkpoint({"global_step": 6, "epoch": 0}, tmp_path / "weights.ckpt")
    assert (tmp_path / "weights.ckpt").stat().st_ino != (tmp_path / "last.ckpt").stat().st_ino
    # Without hard links (some filesystems) the second save is a full write.
    monkeypatch.setattr("os.link", lambda *a: (_ for _ in ()).throw(OSError("no links")))
    io.save_checkpoint({"global_step": 6, "epoch": 0}, tmp_path / "copy.ckpt")
    assert load_verified(tmp_path / "copy.ckpt")["global_step"] == 6
    assert not list(tmp_path.glob("*.tmp"))


def test_a_failed_background_write_is_raised_at_the_next_save_or_at_the_end(
    tmp_path: Path, monkeypatch
) -> None:
    import factdyn.training.checkpoint_io as checkpoints

    def broken(checkpoint, path):
        raise OSError(f"disk full writing {Path(path).name}")

    monkeypatch.setattr(checkpoints, "save_checkpoint_file", broken)
    io = AtomicCheckpointIO(background=True)
    io.save_checkpoint({"global_step": 1, "w": torch.zeros(2)}, tmp_path / "a.ckpt")
    io._pending[0].exception()  # wait for the writer
    with pytest.raises(OSError, match="disk full writing a.ckpt"):
        io.save_checkpoint({"global_step": 2, "w": torch.zeros(2)}, tmp_path / "b.ckpt")
    io = AtomicCheckpointIO(background=True)
    io.save_checkpoint({"global_step": 3, "w": torch.zeros(2)}, tmp_path / "c.ckpt")
    with pytest.raises(OSError, match="disk full writing c.ckpt"):
        io.teardown()  # the end of fit


@pytest.mark.parametrize("background", [True, False])
def test_checkpoint_writes_in_the_background_or_not(run_tiny, background: bool) -> None:
    cli, run_dir = run_tiny(f"--checkpoints.background_writes={str(background).lower()}")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["time_split"]["checkpoint_background"] is background
    assert summary["time_split"]["checkpoint_seconds"] > 0
    checkpoints = run_dir / "checkpoints"
    for step in (0, 1, 2, 4, 8):  # every file complete and verified once fit has returned
        assert load_verified(checkpoints / f"step={step:08d}.ckpt")["global_step"] == step
    # last.ckpt was saved at step 8, in the same hook as step=8.ckpt: one file under two names.
    assert (checkpoints / "last.ckpt").stat().st_ino == (checkpoints / "step=00000008.ckpt").stat().st_ino
    assert load_verified(checkpoints / "last.ckpt")["global_step"] == 8


def test_checkpoints_record_step_config_and_verify_on_load(run_tiny, tmp_path: Path) -> None:
    _, run_dir = run_tiny()
    ckpt = run_dir / "checkpoints" / "step=00000004.ckpt"
    meta = load_verified(ckpt)["factdyn"]
    assert meta["step"] == 4 and "n_individuals: 64" in meta["config"]
    assert sidecar(run_dir / "checkpoints" / "last.ckpt").is_file()
    assert not list(run_dir.rglob("*.tmp"))
    corrupt(ckpt, "flip")
    with pytest.raises(CorruptCheckpointError, match="step=00000004.ckpt: file hash mismatch"):
        FactLearner.load_from_checkpoint(ckpt)


def test_resume_last_falls_back_to_newest_valid_and_matches(tmp_path: Path) -> None:
    """Short default variant of the SIGKILL test: the newest checkpoints are corrupt, resume from step 8."""
    ref = cli_main(tiny_args(tmp_path / "logs", "--trainer.max_steps", "12", RECORD))
    run_dir = Path(ref.trainer.log_dir)
    want_stream, want = read_stream(run_dir / "data_stream.jsonl"), read_scalars(run_dir)
    for name in ("last.ckpt", "step=00000012.ckpt"):  # a crash garbled the two newest files
        corrupt(run_dir / "checkpoints" / name, "truncate")
    (run_dir / "summary.json").unlink()  # the crash came before the end (a finished run is not resumed)
    found = find_resume_checkpoint(run_dir.parent)
    assert found is not None and found[0].name == "step=00000008.ckpt" and len(found[2]) == 2

    with pytest.warns(UserWarning, match="skipping checkpoint .*last.ckpt"):
        resumed = cli_main(
            tiny_args(tmp_path / "logs", "--trainer.max_steps", "12", RECORD, "--ckpt_path", "last")
        )
    assert Path(resumed.trainer.log_dir) == run_dir  # continued in the same run directory
    assert not (run_dir.parent / "version_1").exists()
    assert len((run_dir / "data_stream.jsonl").read_text().splitlines()) == 12 + 4  # steps 8..11 replayed
    assert read_stream(run_dir / "data_stream.jsonl") == want_stream
    got = read_scalars(run_dir)
    assert [s for s, _ in got["val/attr_loss"]] == [s for s, _ in want["val/attr_loss"]] == [4, 8, 12]
    for tag in ("val/attr_loss", "unseen/attr_loss", "train/loss"):
        assert dict(got[tag]) == pytest.approx(dict(want[tag]), abs=1e-5), tag
    for name in ("last.ckpt", "step=00000012.ckpt"):  # rewritten, valid
        assert load_verified(run_dir / "checkpoints" / name)["global_step"] == 12
    assert not list(run_dir.glob("checkpoints/last-v*"))


def test_existing_run_directory_is_never_overwritten(run_tiny, tmp_path: Path) -> None:
    _, run_dir = run_tiny()
    before = sorted(p.name for p in run_dir.rglob("*"))
    with pytest.raises(FileExistsError, match="trainer.logger.init_args.version: run directory .* already"):
        cli_main(tiny_args(tmp_path / "logs", "--trainer.logger.init_args.version", "0"))
    assert sorted(p.name for p in run_dir.rglob("*")) == before
    _, second = run_tiny()  # auto-versioning picks a new directory
    assert second.name == "version_1"


def test_nonfinite_loss_stops_naming_the_step_and_keeps_good_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(NonFiniteLossError, match="non-finite training loss at step 3"):
        cli_main(
            tiny_args(
                tmp_path / "logs",
                "--trainer.callbacks+=tests.helpers.fault_callbacks.PoisonLossAt",
                "--trainer.callbacks.steps",
                "[3]",
            )
        )
    ckpts = sorted((tmp_path / "logs" / "tiny" / "version_0" / "checkpoints").glob("*.ckpt"))
    assert [p.name for p in ckpts] == [f"step={s:08d}.ckpt" for s in (0, 1, 2)]
    for path in ckpts:
        state = load_verified(path)["state_dict"]
        assert all(torch.isfinite(v).all() for v in state.values()), path


def test_nonfinite_loss_is_caught_on_a_step_that_does_not_log_it(tmp_path: Path) -> None:
    """The loss is logged every 2nd step (tiny preset); the guard checks the loss backward got, every step."""
    with pytest.raises(NonFiniteLossError, match="non-finite training loss at step 2 \\(train/loss = nan\\)"):
        cli_main(
            tiny_args(
                tmp_path / "logs",
                "--trainer.callbacks+=tests.helpers.fault_callbacks.PoisonLossAt",
                "--trainer.callbacks.steps",
                "[2]",
                "--nonfinite.check_gradients=false",
            )
        )


def test_nonfinite_skip_drops_the_batch_and_goes_on(run_tiny) -> None:
    cli, run_dir = run_tiny(
        "--nonfinite.action",
        "skip",
        "--trainer.callbacks+=tests.helpers.fault_callbacks.PoisonLossAt",
        "--trainer.callbacks.steps",
        "[3, 5]",
    )
    guard = next(c for c in cli.trainer.callbacks if type(c).__name__ == "NonFiniteGuard")
    assert guard.skipped_steps == [3, 5] and cli.trainer.global_step == 8
    assert all(torch.isfinite(p).all() for p in cli.model.parameters())
    before, after = (
        load_verified(run_dir / "checkpoints" / f"step={s:08d}.ckpt")["state_dict"] for s in (2, 4)
    )
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the other steps still trained


def test_fast_dev_run_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    cli = cli_main(tiny_args(tmp_path / "logs", "--trainer.fast_dev_run", "2"))
    assert cli.trainer.global_step == 2  # it trained, so "nothing written" is not "nothing ran"
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == []


def test_nonfinite_check_read_every_n_steps_still_stops_naming_the_faulty_step(tmp_path: Path) -> None:
    """With check_every_n_steps > 1 (sync-free steps on a GPU) the fault is latched on the device."""
    with pytest.raises(NonFiniteLossError, match="at step 2; its update was skipped .* stopped at step 3"):
        cli_main(
            tiny_args(
                tmp_path / "logs",
                "--nonfinite.check_every_n_steps",
                "4",
                "--trainer.callbacks+=tests.helpers.fault_callbacks.PoisonLossAt",
                "--trainer.callbacks.steps",
                "[2]",
            )
        )
    ckpts = sorted((tmp_path / "logs" / "tiny" / "version_0" / "checkpoints").glob("*.ckpt"))
    # Steps 0-2 are dense checkpoints; step 2's is written after the poisoned batch, its update skipped.
    assert {f"step={s:08d}.ckpt" for s in (0, 1, 2)} <= {p.name for p in ckpts}, ckpts
    for path in ckpts:
        state = load_verified(path)["state_dict"]
        assert all(torch.isfinite(v).all() for v in state.values()), path


def test_nonfinite_flag_after_the_last_read_is_still_reported(tmp_path: Path) -> None:
    """8 steps read every 5: step 6 is flagged after the last read (step 4) and reported at the end."""
    with pytest.raises(NonFiniteLossError, match="at step 6; its update was skipped .* stopped at step 8"):
        cli_main(
            tiny_args(
                tmp_path / "logs",
                "--nonfinite.check_every_n_steps",
                "5",
                "--trainer.callbacks+=tests.helpers.fault_callbacks.PoisonLossAt",
                "--trainer.callbacks.steps",
                "[6]",
            )
        )


def test_nonfinite_skip_read_every_n_steps_keeps_the_weights_finite(run_tiny) -> None:
    cli, _ = run_tiny(
        "--nonfinite.action",
        "skip",
        "--nonfinite.check_every_n_steps",
        "4",
        "--trainer.callbacks+=tests.helpers.fault_callbacks.PoisonLossAt",
        "--trainer.callbacks.steps",
        "[1, 5]",
    )
    guard = next(c for c in cli.trainer.callbacks if type(c).__name__ == "NonFiniteGuard")
    assert guard.skipped_steps == [1, 5] and cli.trainer.global_step == 8
    assert all(torch.isfinite(p).all() for p in cli.model.parameters())
    # Batch 1 (the update from step=1.ckpt to step=2.ckpt) was skipped inside fused AdamW: weights, moments
    # and AdamW's step count are those of step 1; the next update (batch 2, to step=3) went ahead.
    checkpoints = Path(cli.trainer.log_dir) / "checkpoints"
    before, after = (load_verified(checkpoints / f"step={s:08d}.ckpt") for s in (1, 2))
    assert before["state_dict"] and before["state_dict"].keys() == after["state_dict"].keys()
    for name, value in before["state_dict"].items():
        assert torch.equal(after["state_dict"][name], value), name
    state_before, state_after = before["optimizer_states"][0]["state"], after["optimizer_states"][0]["state"]
    assert state_before and state_before.keys() == state_after.keys()  # AdamW has moments after 1 step
    for key, moments in state_before.items():
        for field in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(state_after[key][field], moments[field]), (key, field)
    final = load_verified(checkpoints / "step=00000004.ckpt")["optimizer_states"][0]["state"]
    assert float(next(iter(final.values()))["step"]) == 3  # 4 batches, one skipped
