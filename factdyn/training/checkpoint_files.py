"""Checkpoint files: atomic writes, a content hash checked on every load. torch only, no Lightning.

Every checkpoint ``X.ckpt`` that factdyn writes comes with a sidecar ``X.ckpt.sha256`` holding the sha256
of the checkpoint's bytes in ``sha256sum`` format (``sha256sum -c X.ckpt.sha256`` checks it by hand). Both
are written to ``*.tmp`` files, flushed to disk and moved into place with ``os.replace``, so a crash never
leaves a half-written file under a final name. A sidecar (rather than a hash stored inside the checkpoint)
keeps the checkpoint a plain ``torch.save`` file that any tool loads, and hashes exactly the bytes on disk.

Loading (:func:`load_verified`) re-hashes the file and raises :class:`CorruptCheckpointError`, a one-line
message naming the file, when the hash does not match or the file cannot be read. A checkpoint without a
sidecar (written by other code) loads with a warning.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from lightning_utilities.core.rank_zero import rank_zero_warn

HASH_SUFFIX = ".sha256"


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file that is truncated, corrupted or does not match its recorded hash."""


def sidecar(path: str | Path) -> Path:
    """The hash file of checkpoint ``path``."""
    return Path(f"{path}{HASH_SUFFIX}")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = Path(f"{path}.tmp")
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
    """Serialize ``checkpoint`` and write it and its hash sidecar atomically; returns the hex digest.

    ``torch.save`` writes straight to a temporary file (no in-memory copy of the whole checkpoint; tensor
    bytes are written without holding the GIL, so a background writer does not stall training), which is
    then hashed, flushed to disk and moved into place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(f"{path}.tmp")
    torch.save(checkpoint, tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    digest = file_digest(tmp)
    _commit(tmp, path, digest)
    return digest


def link_checkpoint_file(source: str | Path, path: str | Path, digest: str) -> None:
    """Give written checkpoint ``source`` (hash ``digest``) a second name ``path``: hard link, else copy."""
    path = Path(path)
    tmp = Path(f"{path}.tmp")
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


def read_verified_bytes(path: str | Path) -> bytes:
    """The bytes of checkpoint ``path`` after checking them against the sidecar hash (if there is one)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    data = path.read_bytes()
    hash_file = sidecar(path)
    if hash_file.is_file():
        recorded = hash_file.read_text().split()
        actual = hashlib.sha256(data).hexdigest()
        if not recorded or recorded[0] != actual:
            raise CorruptCheckpointError(
                f"{path}: content hash mismatch (file {actual[:12]}..., {hash_file.name} "
                f"{recorded[0][:12] if recorded else 'empty'}...): truncated or corrupted"
            )
    else:
        rank_zero_warn(f"{path}: no {HASH_SUFFIX} sidecar, loading without verifying its content")
    return data


def load_verified(
    path: str | Path, map_location: Any = "cpu", weights_only: bool | None = False
) -> dict[str, Any]:
    """``torch.load`` a verified checkpoint; a one-line :class:`CorruptCheckpointError` if bad."""
    data = read_verified_bytes(path)
    try:
        checkpoint = torch.load(io.BytesIO(data), map_location=map_location, weights_only=weights_only)
    except Exception as err:  # torch raises many types for truncated/garbled zips and pickles
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise CorruptCheckpointError(
            f"{path}: cannot be read ({type(err).__name__}: {first_line[:200]})"
        ) from err
    if not isinstance(checkpoint, dict):
        raise CorruptCheckpointError(f"{path}: not a checkpoint (holds a {type(checkpoint).__name__})")
    return checkpoint


def is_valid(path: str | Path) -> bool:
    """Whether ``path`` loads and matches its hash (loads it fully)."""
    try:
        load_verified(path)
    except (CorruptCheckpointError, FileNotFoundError):
        return False
    return True
