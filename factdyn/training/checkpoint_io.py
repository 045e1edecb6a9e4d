"""AtomicCheckpointIO: Lightning's checkpoint plugin over factdyn's checkpoint files.

Every save goes through :func:`~factdyn.training.checkpoint_files.save_checkpoint_file` (atomic, with a
content hash inside and a hash sidecar) and every load through
:func:`~factdyn.training.checkpoint_files.load_verified` (``torch.load(weights_only=True)``, both hashes
checked): Lightning's resume, ``validate`` / ``test`` with ``ckpt_path``. The checkpoint dict also carries
``checkpoint["factdyn"] = {"step", "config", "format", "optimizer_state"}``: the global step, the resolved run
configuration (YAML) it was written with, and whether AdamW's moments are in it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning_utilities.core.apply_func import apply_to_collection

from factdyn.training.checkpoint_files import (
    RECORD,
    CheckpointError,
    link_checkpoint_file,
    load_verified,
    save_checkpoint_file,
    sidecar,
)
from factdyn.training.content_hash import check_loadable

FORMAT = 2
"""Version of the ``checkpoint["factdyn"]`` record (2: the file carries a content hash)."""

WITHOUT_OPTIMIZER: dict[str, bool] = {"optimizer_state": False}
"""``storage_options`` of a save that leaves out the optimizer state (AdamW's moments: twice the weights)."""


def has_optimizer_state(checkpoint: dict[str, Any]) -> bool:
    """Whether a checkpoint can resume a run exactly (a lean scheduled checkpoint cannot)."""
    return "optimizer_states" in checkpoint


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning ``CheckpointIO``: atomic writes with a hash sidecar, verified loads, run metadata.

    The factdyn CLI installs it on every trainer, so ``last.ckpt`` and the
    :class:`~factdyn.callbacks.CheckpointSchedule` files all go through it.

    Two saves of one training state (the scheduled ``step=N.ckpt``, then ``last.ckpt`` in the same hook)
    are one file under two names: the second is a hard link (a copy where the filesystem has none).

    Args:
        config: the resolved run configuration (YAML) recorded in every checkpoint (the CLI sets it).
        background: write files in one background thread, in order. The tensors are copied when the save
            is asked for (on their device), so training goes on while the file is serialized, hashed and
            written; :meth:`teardown` (the end of ``fit``) waits for the last write and re-raises a failed
            one, as does the next save.
    """

    def __init__(self, config: str | None = None, background: bool = False) -> None:
        super().__init__()
        self.config = config
        self.background = background
        self.save_seconds = 0.0  # time spent writing checkpoints (the run summary reports it)
        self._previous: tuple[tuple, Path] | None = None  # (content key, path) of the last full write
        self._digests: dict[Path, str] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        keep_optimizer = True
        if storage_options is not None:
            if set(storage_options) != set(WITHOUT_OPTIMIZER):
                raise TypeError(f"{type(self).__name__} takes only storage_options={WITHOUT_OPTIMIZER}")
            keep_optimizer = bool(storage_options["optimizer_state"])
        if not keep_optimizer:
            checkpoint = {k: v for k, v in checkpoint.items() if k != "optimizer_states"}
        checkpoint[RECORD] = {
            "format": FORMAT,
            "step": int(checkpoint.get("global_step", -1)),
            "config": self.config,
            "optimizer_state": keep_optimizer,
        }
        path = Path(path)
        # Same state: same step, same contents, and the same loop progress (an evaluation in between would
        # have moved it, and with it the callbacks' states).
        key = (
            checkpoint[RECORD]["step"],
            checkpoint.get("epoch"),
            tuple(sorted(checkpoint)),
            repr(checkpoint.get("loops")),
        )
        source = None
        if self._previous is not None and self._previous[0] == key and self._previous[1] != path:
            source = self._previous[1]
        else:
            self._previous = (key, path)
        # Here, not in the writer thread: a value that would not load back fails the first save, in the loop.
        check_loadable(checkpoint)
        if not self.background:
            self._store(checkpoint, path, source)
            return
        self._raise_failed()
        if source is None:  # a snapshot: the live tensors change with the next optimizer step
            checkpoint = apply_to_collection(checkpoint, torch.Tensor, lambda t: t.detach().clone())
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="factdyn-checkpoint")
        self._pending.append(self._executor.submit(self._store, checkpoint, path, source))

    def _store(self, checkpoint: dict[str, Any], path: Path, source: Path | None) -> None:
        start = time.perf_counter()
        if source is not None and source in self._digests:
            link_checkpoint_file(source, path, self._digests[source])
        else:
            self._digests = {path: save_checkpoint_file(checkpoint, path)}
        self.save_seconds += time.perf_counter() - start

    def _raise_failed(self) -> None:
        done = [f for f in self._pending if f.done()]
        self._pending = [f for f in self._pending if not f.done()]
        for future in done:
            future.result()  # re-raises the writer's exception

    def teardown(self) -> None:
        """Wait for background writes; re-raise the first that failed."""
        pending, self._pending = self._pending, []
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        for future in pending:
            future.result()

    def load_checkpoint(
        self,
        path: str | Path,
        map_location: Callable | Any = lambda storage, loc: storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        """Load through :func:`~factdyn.training.checkpoint_files.load_verified`: always
        ``weights_only=True`` (factdyn's checkpoints need nothing else), whatever Lightning passes."""
        return load_verified(path, map_location=map_location)

    def remove_checkpoint(self, path: str | Path) -> None:
        super().remove_checkpoint(path)
        if sidecar(path).is_file():
            sidecar(path).unlink()


def load_lightning_checkpoint(path: str | Path) -> dict[str, Any]:
    """A verified checkpoint that Lightning can restore (it has a ``state_dict``); one-line errors naming it.

    The CLI calls it on ``--ckpt_path`` before LightningCLI reads the file's hyperparameters itself, so a
    missing, empty, truncated, foreign or unsafe file is one line naming it, not a zip or pickle traceback.
    """
    checkpoint = load_verified(path)
    if not isinstance(checkpoint.get("state_dict"), dict):
        keys = ", ".join(map(repr, list(checkpoint)[:6])) or "nothing"
        raise CheckpointError(
            f"{path}: not a Lightning checkpoint (no 'state_dict'; it holds {keys}): pass a file written by "
            "factdyn fit, e.g. <run>/checkpoints/last.ckpt"
        )
    return checkpoint
