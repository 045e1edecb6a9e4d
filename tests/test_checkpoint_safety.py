"""No checkpoint runs code, integrity without the sidecar, full and read-only disks, bad checkpoint files.

A crafted checkpoint (an object whose ``__reduce__`` writes a marker file, with a valid sidecar) is passed
through every way factdyn loads a checkpoint; the marker must never appear and the error is one line naming
the file.
"""

from __future__ import annotations

import errno
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from factdyn.cli import main
from factdyn.interp.patching import load_reference
from factdyn.training.checkpoint_files import (
    CheckpointError,
    CorruptCheckpointError,
    UnsafeCheckpointError,
    file_digest,
    is_valid,
    load_verified,
    read_verified_bytes,
    save_checkpoint_file,
    sidecar,
)
from factdyn.training.checkpoint_io import AtomicCheckpointIO, load_lightning_checkpoint
from factdyn.training.content_hash import CONTENT_HASH, content_digest
from factdyn.training.module import FactLearner
from factdyn.training.pretrained import load_pretrained
from tests.helpers.runs import CONFIGS, tiny_args

PATCH = "--trainer.callbacks+=factdyn.callbacks.AttentionPatching"


@pytest.fixture(autouse=True)
def raise_user_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` prints a user error as one line and exits 2 (tests/test_bad_inputs.py checks that); with
    ``FACTDYN_DEBUG`` it raises it, so these tests can check the exception's type and its one-line message."""
    monkeypatch.setenv("FACTDYN_DEBUG", "1")


class Plant:
    """Unpickled without ``weights_only``, writes ``marker``: stands for any code a crafted file could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def craft(path: Path, marker: Path) -> Path:
    """A checkpoint-shaped file with a payload, and a sidecar whose hash matches (an attacker writes both)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"state_dict": {}, "hyper_parameters": {}, "optimizer_states": [], "global_step": 3}
    torch.save({**payload, "callbacks": {"x": Plant(marker)}}, path)
    sidecar(path).write_text(f"{file_digest(path)}  {path.name}\n")
    return path


def one_line_naming(err: BaseException, path: Path) -> None:
    message = str(err)
    assert "\n" not in message and str(path) in message, message


@pytest.fixture
def evil(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "code_ran"
    return craft(tmp_path / "shared" / "evil.ckpt", marker), marker


def test_the_crafted_file_does_run_code_when_unpickled_unsafely(evil) -> None:
    path, marker = evil
    torch.load(path, weights_only=False)
    assert marker.exists()  # so its absence below means the loader refused it


def _from_stream(path: Path) -> FactLearner:
    with open(path, "rb") as f:
        return FactLearner.load_from_checkpoint(f)


LOADERS = {
    "load_verified": load_verified,
    "read_verified_bytes": read_verified_bytes,
    "AtomicCheckpointIO.load_checkpoint": lambda p: AtomicCheckpointIO().load_checkpoint(p),
    "AtomicCheckpointIO.load_checkpoint(weights_only=False)": lambda p: AtomicCheckpointIO().load_checkpoint(
        p, weights_only=False
    ),
    "load_lightning_checkpoint": load_lightning_checkpoint,
    "load_pretrained": load_pretrained,
    "load_reference (attention patching)": load_reference,
    "FactLearner.load_from_checkpoint": FactLearner.load_from_checkpoint,
    "FactLearner.load_from_checkpoint(stream)": lambda p: _from_stream(p),
}


@pytest.mark.parametrize("name", list(LOADERS))
def test_no_python_entry_point_runs_a_checkpoint(name: str, evil) -> None:
    path, marker = evil
    with pytest.raises(UnsafeCheckpointError) as err:
        LOADERS[name](path)
    one_line_naming(err.value, path)
    assert "builtins.exec" in str(err.value)
    assert not marker.exists()
    assert not is_valid(path) and not marker.exists()


def _cli_cases(evil_path: Path, logs: Path) -> dict[str, list[str]]:
    toy = ["--trainer.logger.init_args.save_dir", str(logs), "--trainer.max_steps", "2"]
    return {
        "fit --model.init_checkpoint": tiny_args(logs, "--model.init_checkpoint", str(evil_path)),
        "fit AttentionPatching reference": tiny_args(
            logs, PATCH, "--trainer.callbacks.reference_checkpoint", str(evil_path)
        ),
        "fit --ckpt_path <file>": tiny_args(logs, "--ckpt_path", str(evil_path)),
        "fit --ckpt_path last": tiny_args(logs, "--ckpt_path", "last"),
        "validate --ckpt_path": tiny_args(logs, "--ckpt_path", str(evil_path), subcommand="validate"),
        "test --ckpt_path": tiny_args(logs, "--ckpt_path", str(evil_path), subcommand="test"),
        "toy fit --model.init_checkpoint": [
            "toy",
            "fit",
            "--config",
            str(CONFIGS / "toy" / "finetune.yaml"),
            *toy,
            "--model.init_checkpoint",
            str(evil_path),
        ],  # fmt: skip
        "toy fit --ckpt_path": [
            "toy",
            "fit",
            "--config",
            str(CONFIGS / "toy" / "pretrain.yaml"),
            *toy,
            "--ckpt_path",
            str(evil_path),
        ],  # fmt: skip
    }


CLI_CASES = list(_cli_cases(Path("x"), Path("y")))


@pytest.mark.parametrize("name", CLI_CASES)
def test_no_cli_entry_point_runs_a_checkpoint(name: str, tmp_path: Path, evil) -> None:
    path, marker = evil
    logs = tmp_path / "logs"
    if name == "fit --ckpt_path last":  # a crafted last.ckpt planted in the run directory
        path = craft(logs / "tiny" / "version_0" / "checkpoints" / "last.ckpt", marker)
    with pytest.raises(UnsafeCheckpointError) as err:
        main(_cli_cases(path, logs)[name])
    one_line_naming(err.value, path)
    assert not marker.exists()


# --- integrity that needs no sidecar ------------------------------------------------------------------------


def _flip_inside_tensor(path: Path, value: float) -> None:
    """Flip one byte in the middle of the stored bytes of a tensor filled with ``value`` (float32)."""
    data = bytearray(path.read_bytes())
    pattern = np.float32(value).tobytes() * 64
    at = data.index(pattern) + 2 * len(pattern) // 4 + 2
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_flipped_weight_byte_is_caught_without_the_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "x.ckpt"
    save_checkpoint_file({"global_step": 1, "state_dict": {"w": torch.full((4096,), 1.5)}}, path)
    sidecar(path).unlink()
    _flip_inside_tensor(path, 1.5)
    assert torch.load(path, weights_only=True)["state_dict"]["w"].sum() != 1.5 * 4096  # loads, silently wrong
    with pytest.raises(CorruptCheckpointError, match="content hash mismatch") as err:
        load_verified(path)
    one_line_naming(err.value, path)


def test_a_checkpoint_copied_alone_is_verified_by_its_content(tmp_path: Path, recwarn) -> None:
    path = tmp_path / "run" / "last.ckpt"
    state = {"global_step": 5, "state_dict": OrderedDict(w=torch.arange(6.0).reshape(2, 3))}
    save_checkpoint_file(state, path)
    copy = tmp_path / "colleague" / "theirs.ckpt"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())  # no sidecar travels with it
    loaded = load_verified(copy)
    assert CONTENT_HASH not in loaded  # the loader takes its own record out
    assert torch.equal(loaded["state_dict"]["w"], state["state_dict"]["w"])
    assert not [w for w in recwarn if "without verifying" in str(w.message)]


def test_a_factdyn_checkpoint_whose_content_hash_was_removed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO(config="c").save_checkpoint({"global_step": 2, "state_dict": {}}, path)
    stripped = torch.load(path, weights_only=True)
    del stripped[CONTENT_HASH]
    torch.save(stripped, path)
    sidecar(path).unlink()
    with pytest.raises(CorruptCheckpointError, match="content hash is missing"):
        load_verified(path)


def test_older_and_foreign_checkpoints_still_load(tmp_path: Path) -> None:
    old = tmp_path / "format1.ckpt"  # written before the content hash: its sidecar verifies it
    torch.save({"global_step": 4, "state_dict": {}, "factdyn": {"format": 1}}, old)
    sidecar(old).write_text(f"{file_digest(old)}  {old.name}\n")
    assert load_verified(old)["global_step"] == 4
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"global_step": 7, "state_dict": {}}, foreign)
    with pytest.warns(UserWarning, match="without verifying its content"):
        assert load_verified(foreign)["global_step"] == 7


def test_content_digest_is_exact_and_refuses_what_would_not_load_back() -> None:
    tree = {
        "a": [1, 2.5, True, None, "s", b"b", (3, 4), {5, 6}],
        "t": torch.arange(4, dtype=torch.bfloat16),
        "meta": (torch.float16, torch.device("cpu"), torch.Size([2, 3]), 1 + 2j),
    }
    digest = content_digest(tree)
    assert content_digest({**tree}) == digest
    for change in ({"a": [1, 2.5, 1, None, "s", b"b", (3, 4), {5, 6}]}, {"t": torch.arange(4.0)}):
        assert content_digest({**tree, **change}) != digest  # True vs 1, bfloat16 vs float32
    round_trip = tree | {CONTENT_HASH: digest}
    assert content_digest(round_trip) == digest  # its own entry does not count
    refused = ((np.float64(1.0), "numpy.float64"), (Path("x"), "PosixPath"), (frozenset(), "frozenset"))
    for bad, where in refused:
        with pytest.raises(TypeError, match=rf"callbacks/X/v is a .*{where}"):
            content_digest({"callbacks": {"X": {"v": bad}}})


@pytest.mark.parametrize("background", [False, True])
def test_a_value_that_would_not_load_back_fails_the_save_at_once(tmp_path: Path, background: bool) -> None:
    io = AtomicCheckpointIO(background=background)
    with pytest.raises(TypeError, match="callbacks/Mine/score is a numpy.float32"):
        state = {"global_step": 0, "callbacks": {"Mine": {"score": np.float32(1)}}}
        io.save_checkpoint(state, tmp_path / "a.ckpt")
    io.teardown()
    assert list(tmp_path.iterdir()) == []


# --- full disk ---------------------------------------------------------------------------------------------


def _full_disk(monkeypatch, torch_variant: bool) -> None:
    """torch.save writes a little, then the disk is full: by path torch's zip writer says only "unexpected
    pos" (``torch_variant``), through a Python file the OS says ENOSPC."""

    def save(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)):
            Path(f).write_bytes(b"PK\x03\x04partial")
            if torch_variant:
                raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")
        else:
            f.write(b"PK\x03\x04partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", save)


@pytest.mark.parametrize("torch_variant", [False, True])
@pytest.mark.parametrize("background", [False, True])
def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch, torch_variant: bool, background: bool
) -> None:
    good = tmp_path / "last.ckpt"
    save_checkpoint_file({"global_step": 1}, good)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    _full_disk(monkeypatch, torch_variant)
    io = AtomicCheckpointIO(background=background)
    with pytest.raises(OSError) as err:
        io.save_checkpoint({"global_step": 2}, good)
        io.teardown()
    assert err.value.errno == errno.ENOSPC
    assert str(err.value) == f"[Errno 28] no space left on device while writing {good}"
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no *.tmp; last.ckpt intact
    monkeypatch.undo()
    assert load_verified(good)["global_step"] == 1


def test_a_full_disk_while_writing_the_sidecar_or_linking(tmp_path: Path, monkeypatch) -> None:
    io = AtomicCheckpointIO()
    io.save_checkpoint({"global_step": 3, "epoch": 0}, tmp_path / "step=3.ckpt")

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "link", no_space)
    monkeypatch.setattr("shutil.copyfile", no_space)
    with pytest.raises(OSError, match=r"no space left on device while writing .*last.ckpt$"):
        io.save_checkpoint({"global_step": 3, "epoch": 0}, tmp_path / "last.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step=3.ckpt", "step=3.ckpt.sha256"]


# --- read-only run directory ------------------------------------------------------------------------------


def test_a_read_only_file_system_is_one_line_before_anything_runs(tmp_path: Path, monkeypatch) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access, real_statvfs = os.access, os.statvfs

    class ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(os, "access", lambda p, mode, **kw: Path(p) != ro and real_access(p, mode, **kw))
    monkeypatch.setattr(os, "statvfs", lambda p: ReadOnly() if Path(p) == ro else real_statvfs(p))
    with pytest.raises(OSError) as err:
        main(tiny_args(ro / "logs"))
    assert err.value.errno == errno.EROFS
    message = str(err.value)
    assert "\n" not in message and f"cannot write to {ro} " in message and "read-only file system" in message
    assert "trainer.logger.init_args.save_dir" in message
    assert list(ro.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a chmod 555 directory anyway")
def test_an_unwritable_log_directory_is_one_line(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OSError, match=rf"cannot write to {ro} .*permission denied") as err:
            main(tiny_args(ro / "logs"))
        assert "\n" not in str(err.value)
    finally:
        ro.chmod(0o755)


def test_a_checkpoint_write_into_a_read_only_directory_is_one_line(tmp_path: Path, monkeypatch) -> None:
    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    target = tmp_path / "checkpoints" / "last.ckpt"
    with pytest.raises(OSError, match=rf"^\[Errno 30\] read-only file system while writing {target}$"):
        save_checkpoint_file({"global_step": 0}, target)


# --- bad files given as checkpoints -----------------------------------------------------------------------


def _bad_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "given" / f"{kind}.ckpt"
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(b"\x80\x02not a checkpoint at all" * 10)
    elif kind == "truncated":
        save_checkpoint_file({"global_step": 1, "state_dict": {"w": torch.zeros(1000)}}, path)
        sidecar(path).unlink()
        path.write_bytes(path.read_bytes()[:2000])
    elif kind == "state_dict":  # torch.save(model.state_dict()): weights but no hyperparameters
        torch.save(OrderedDict(w=torch.zeros(3)), path)
    return path


@pytest.mark.parametrize("kind", ["empty", "garbage", "truncated", "state_dict"])
@pytest.mark.parametrize("subcommand", ["fit", "validate"])
def test_a_bad_ckpt_path_is_one_line_naming_the_file(tmp_path: Path, kind: str, subcommand: str) -> None:
    path = _bad_file(tmp_path, kind)
    with pytest.raises(CheckpointError) as err:
        main(tiny_args(tmp_path / "logs", "--ckpt_path", str(path), subcommand=subcommand))
    one_line_naming(err.value, path)
    if kind == "state_dict":
        assert "not a Lightning checkpoint (no 'state_dict'" in str(err.value)
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("kind", ["empty", "truncated", "state_dict"])
def test_a_bad_init_checkpoint_is_one_line_saying_what_it_must_hold(tmp_path: Path, kind: str) -> None:
    path = _bad_file(tmp_path, kind)
    with pytest.raises(CheckpointError) as err:
        main(tiny_args(tmp_path / "logs", "--model.init_checkpoint", str(path)))
    one_line_naming(err.value, path)
    if kind == "state_dict":
        assert "not a FactLearner checkpoint: it must hold 'state_dict' and 'hyper_parameters'" in str(
            err.value
        )


def test_a_bare_state_dict_as_the_toy_init_checkpoint(tmp_path: Path) -> None:
    path = _bad_file(tmp_path, "state_dict")
    with pytest.raises(CheckpointError, match="not a ToyMemory checkpoint") as err:
        main(["toy", "fit", "--config", str(CONFIGS / "toy" / "finetune.yaml"),
              "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"),
              "--model.init_checkpoint", str(path), "--trainer.max_steps", "2"])  # fmt: skip
    one_line_naming(err.value, path)


def test_factdyns_own_checkpoints_need_no_allow_list(run_tiny) -> None:
    """Stateful sampler and callbacks, lean and full checkpoints: plain torch.load(weights_only=True) reads
    them all, and they name no global outside torch's defaults."""
    _, run_dir = run_tiny(
        "--data.sampler", "AdaptiveWarmUp", "--data.sampler.warmup_individuals", "8",
        "--trainer.callbacks+=factdyn.callbacks.AdaptiveWarmUpSwitch",
        "--trainer.callbacks+=factdyn.callbacks.AttentionStatistics",
        "--trainer.callbacks+=factdyn.callbacks.DataStreamRecorder",
        "--checkpoints.optimizer_state", "false", "--trainer.max_steps", "4",
    )  # fmt: skip
    paths = sorted((run_dir / "checkpoints").glob("*.ckpt"))
    assert len(paths) == 5  # steps 0, 1, 2, 4 (lean), last
    for path in paths:
        assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
        checkpoint = torch.load(path, weights_only=True)
        assert checkpoint["factdyn"]["format"] == 2 and CONTENT_HASH in checkpoint
        assert load_verified(path)["global_step"] == checkpoint["global_step"]
