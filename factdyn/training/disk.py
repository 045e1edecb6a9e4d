"""Disk errors as one line naming the path: a full disk, a read-only or unwritable directory (no torch).

A failed write leaves no temporary file behind, and its ``OSError`` keeps the errno (``ENOSPC``, ``EROFS``,
``EACCES`` ...) with a message such as ``no space left on device while writing <path>``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def write_error(err: OSError, path: str | Path) -> OSError:
    """``err`` as one line naming ``path`` (the file the caller was writing), with the same errno."""
    reason = _REASONS.get(err.errno) or (err.strerror or str(err)).lower()
    return OSError(err.errno, f"{reason} while writing {path}")


@contextmanager
def writing(path: str | Path, *temporaries: str | Path) -> Iterator[None]:
    """Around the write of ``path``: on any error remove ``temporaries``; an ``OSError`` becomes one line."""
    try:
        yield
    except BaseException as err:
        for tmp in temporaries:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise write_error(err, path) from err
        raise


def require_writable(directory: str | Path, field: str) -> None:
    """Raise a one-line ``OSError`` if ``directory`` (or, when it does not exist yet, the nearest existing
    folder above it, where it would be created) cannot be written; ``field`` is the setting that chose it."""
    target = Path(directory).absolute()
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OSError(errno.ENOTDIR, f"{field}: {existing} is not a directory (needed for {target})")
    if os.access(existing, os.W_OK | os.X_OK):
        return
    read_only = hasattr(os, "statvfs") and bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
    code = errno.EROFS if read_only else errno.EACCES
    where = "" if existing == target else f" (where {target} would be created)"
    raise OSError(
        code, f"{field}: cannot write to {existing}{where}: {_REASONS[code]}; choose a writable directory"
    )
