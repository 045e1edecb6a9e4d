"""Checkpoint files: atomic writes, safe loads, two hashes checked on every load. torch only, no Lightning.

**Safe.** Every load is ``torch.load(weights_only=True)``: a checkpoint can rebuild tensors, containers and
plain Python values, never run code. factdyn's own checkpoints hold nothing else (the save refuses anything
else, see :mod:`~factdyn.training.content_hash`), so no allow-list is needed. A file that holds pickled
objects (a crafted ``__reduce__``, a whole pickled module) is refused with :class:`UnsafeCheckpointError`.

**Verified by content.** Every checkpoint carries the sha256 of what it holds
(``checkpoint[CONTENT_HASH]``, :func:`~factdyn.training.content_hash.content_digest`); the loader
recomputes it over the loaded tensors and values. This needs no other file: a checkpoint copied alone,
renamed or without its sidecar is still checked, and a flipped byte in a weight is a
:class:`CorruptCheckpointError`.

**Verified by file.** Each ``X.ckpt`` also has a sidecar ``X.ckpt.sha256`` holding the sha256 of its bytes in
``sha256sum`` format (``sha256sum -c X.ckpt.sha256`` checks it by hand); when present, it is checked first.
Checkpoints written before the content hash (format 1) rely on it.

Both hashes are integrity, not authenticity: they catch truncation, bit rot and a half-copied file, not a
deliberately altered checkpoint (whoever can rewrite the file can rewrite its hashes). What protects against a
hostile file is ``weights_only=True``: the worst such a file can do is hold wrong weights.

**Atomic.** The checkpoint and its sidecar are written to ``*.tmp`` files, flushed to disk and moved into
place with ``os.replace``: a crash never leaves a half-written file under a final name, and a failed write (a
full disk) removes its ``*.tmp`` and raises one ``OSError`` line (``no space left on device while writing
<path>``, :mod:`~factdyn.training.disk`).
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import pickle
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from lightning_utilities.core.rank_zero import rank_zero_warn

from factdyn.training.content_hash import CONTENT_HASH, content_digest
from factdyn.training.disk import writing

HASH_SUFFIX = ".sha256"
RECORD = "factdyn"
"""The key of factdyn's run record (by :class:`~factdyn.training.checkpoint_io.AtomicCheckpointIO`)."""
CONTENT_HASH_FORMAT = 2
"""The first record format whose checkpoints carry a content hash: from it on, a missing one is corruption."""


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message is one line starting with the file's path."""


class CorruptCheckpointError(CheckpointError):
    """A checkpoint file that is truncated, corrupted or does not match a recorded hash."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint file holding pickled objects that ``torch.load(weights_only=True)`` refuses to build."""


def sidecar(path: str | Path) -> Path:
    """The hash file of checkpoint ``path``."""
    return Path(f"{path}{HASH_SUFFIX}")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = Path(f"{path}.tmp")
    with writing(path, tmp):
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes, read in chunks (hashlib and file reads release the GIL)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def save_checkpoint_file(checkpoint: dict[str, Any], path: str | Path) -> str:
    """Serialize ``checkpoint`` with its content hash, write it and its hash sidecar atomically; returns the
    file's hex digest.

    ``torch.save`` writes straight to a temporary file (no in-memory copy of the whole checkpoint; tensor
    bytes are written without holding the GIL, so a background writer does not stall training), which is
    then hashed, flushed to disk and moved into place. ``TypeError`` if the checkpoint holds a value that
    would not load back (see :mod:`~factdyn.training.content_hash`).
    """
    path = Path(path)
    tmp = Path(f"{path}.tmp")
    checkpoint = {**checkpoint, CONTENT_HASH: content_digest(checkpoint)}
    with writing(path, tmp):
        path.parent.mkdir(parents=True, exist_ok=True)
        _torch_save(checkpoint, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        digest = file_digest(tmp)
        _commit(tmp, path, digest)
    return digest


def _torch_save(checkpoint: dict[str, Any], tmp: Path) -> None:
    try:
        torch.save(checkpoint, tmp)
    except RuntimeError as err:
        message = str(err)
        if "unexpected pos" not in message and "write failed" not in message:
            raise
        # torch's zip writer reports a failed write (a full disk) without its errno ("[enforce fail at
        # inline_container.cc] unexpected pos"). Written again through a Python file, the OS error surfaces
        # with its errno, or the write succeeds if the fault has passed.
        tmp.unlink(missing_ok=True)
        try:
            with open(tmp, "wb") as f:
                torch.save(checkpoint, f)
        except RuntimeError as again:
            raise OSError(errno.EIO, f"write failed ({_first_line(again)})") from err


def link_checkpoint_file(source: str | Path, path: str | Path, digest: str) -> None:
    """Give written checkpoint ``source`` (hash ``digest``) a second name ``path``: hard link, else copy."""
    path = Path(path)
    tmp = Path(f"{path}.tmp")
    with writing(path, tmp):
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)
        except OSError:  # no hard links on this filesystem
            shutil.copyfile(source, tmp)
        _commit(tmp, path, digest)


def _commit(tmp: Path, path: Path, digest: str) -> None:
    # Sidecar first: between the two renames the pair mismatches and the file reads as corrupt (resume then
    # falls back to an older checkpoint) instead of an unverified stale hash passing.
    _write_atomic(sidecar(path), f"{digest}  {path.name}\n".encode())
    os.replace(tmp, path)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else ""


def _read_checked_bytes(path: Path) -> tuple[bytes, bool]:
    """The file's bytes, checked against its sidecar when it has one; and whether it had one."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    data = path.read_bytes()
    hash_file = sidecar(path)
    if not hash_file.is_file():
        return data, False
    recorded = hash_file.read_text(errors="replace").split()
    actual = hashlib.sha256(data).hexdigest()
    if not recorded or recorded[0] != actual:
        raise CorruptCheckpointError(
            f"{path}: file hash mismatch (file {actual[:12]}..., {hash_file.name} "
            f"{recorded[0][:12] if recorded else 'empty'}...): truncated or corrupted"
        )
    return data, True


def _unpickle(data: bytes, path: Path, map_location: Any) -> dict[str, Any]:
    try:
        checkpoint = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for truncated/garbled zips and pickles
        refused = _refused_globals(data, err) if isinstance(err, pickle.UnpicklingError) else []
        if refused:
            raise UnsafeCheckpointError(
                f"{path}: refused, it holds pickled objects that could run code "
                f"({', '.join(refused[:4])}{', ...' if len(refused) > 4 else ''}); factdyn loads checkpoints "
                "with torch.load(weights_only=True) and its own hold only tensors and plain values "
                "(never open an untrusted file with weights_only=False)"
            ) from None
        reason = f"{type(err).__name__}: {_first_line(err)}"
        raise CorruptCheckpointError(f"{path}: cannot be read ({reason})") from err
    if not isinstance(checkpoint, dict):
        raise CorruptCheckpointError(f"{path}: not a checkpoint (holds a {type(checkpoint).__name__})")
    return checkpoint


def _refused_globals(data: bytes, err: Exception) -> list[str]:
    """The globals (classes, functions) a pickle names that weights_only loading does not allow."""
    finder = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)  # torch >= 2.5
    if finder is not None:
        try:  # reads the pickle's opcodes, runs none of them
            return list(finder(io.BytesIO(data)))
        except Exception:
            pass
    return re.findall(r"GLOBAL ([\w.]+)", str(err))


def _check_content(checkpoint: dict[str, Any], path: Path, had_sidecar: bool) -> None:
    """Recompute the content hash (and take it out of the dict); warn if nothing at all verified the file."""
    recorded = checkpoint.pop(CONTENT_HASH, None)
    if recorded is None:
        record = checkpoint.get(RECORD)
        if isinstance(record, dict) and int(record.get("format", 1)) >= CONTENT_HASH_FORMAT:
            raise CorruptCheckpointError(
                f"{path}: its content hash is missing (format {record.get('format')} records one): "
                "corrupted or edited"
            )
        if not had_sidecar:
            rank_zero_warn(
                f"{path}: no content hash and no {HASH_SUFFIX} sidecar (not written by factdyn), "
                "loading without verifying its content"
            )
        return
    try:
        actual = content_digest(checkpoint)
    except TypeError as err:  # weights_only builds only hashable types; a guard, not an expected path
        raise CorruptCheckpointError(f"{path}: {err}") from err
    if actual != recorded:
        raise CorruptCheckpointError(
            f"{path}: content hash mismatch (holds {actual[:12]}..., recorded {str(recorded)[:12]}...): "
            "its tensors or values changed after it was written"
        )


def _load(path: str | Path, map_location: Any) -> tuple[dict[str, Any], bytes]:
    path = Path(path)
    data, had_sidecar = _read_checked_bytes(path)
    checkpoint = _unpickle(data, path, map_location)
    _check_content(checkpoint, path, had_sidecar)
    return checkpoint, data


def load_verified(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """``torch.load(weights_only=True)`` a checkpoint after checking its sidecar, then its content hash.

    One-line errors starting with the path: ``FileNotFoundError``, :class:`CorruptCheckpointError`,
    :class:`UnsafeCheckpointError` (both :class:`CheckpointError`, a ``ValueError``).
    """
    return _load(path, map_location)[0]


def read_verified_bytes(path: str | Path) -> bytes:
    """The bytes of checkpoint ``path`` once they have passed every check of :func:`load_verified`.

    For a loader that unpickles them itself (Lightning's ``load_from_checkpoint``): these bytes load under
    ``weights_only=True``, so they name no callable outside torch's tensor rebuilders and plain containers,
    and any unpickler builds the same safe objects from them.
    """
    return _load(path, "cpu")[1]


def check_checkpoint_bytes(data: bytes, name: str) -> None:
    """The checks of :func:`load_verified` on a checkpoint already read from a stream (no sidecar to check):
    a safe load, then the content hash. ``name`` labels the one-line errors."""
    checkpoint = _unpickle(data, Path(name), "cpu")
    _check_content(checkpoint, Path(name), had_sidecar=False)


def is_valid(path: str | Path) -> bool:
    """Whether ``path`` loads and matches its hashes (loads it fully)."""
    try:
        load_verified(path)
    except (CheckpointError, FileNotFoundError):
        return False
    return True


def load_weights(
    module: torch.nn.Module, state: dict[str, Any], path: str | Path, describe: Callable[[str], str]
) -> None:
    """``module.load_state_dict(state)``; weights that do not fit are a one-line :class:`CheckpointError`
    ``"<path>: its weights do not fit <describe(detail)>"`` (detail: torch's mismatch lines, joined)."""
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        detail = "; ".join(line.strip() for line in str(err).strip().splitlines()[1:])[:300]
        raise CheckpointError(f"{path}: its weights do not fit {describe(detail)}") from err
