"""The content hash of a checkpoint: sha256 over what it holds, not over the bytes of its file. torch only.

A checkpoint carries this hash inside itself (:data:`CONTENT_HASH`), so it can be verified wherever it goes:
without its sidecar, copied alone, renamed. The hash is computed from the objects before ``torch.save`` and
recomputed from the objects after ``torch.load``; both walks see the same tree because pickle keeps dict order
and every type below round-trips unchanged.

What a checkpoint may hold is exactly what ``torch.load(weights_only=True)`` rebuilds without an allow-list:
tensors (and ``nn.Parameter``), ``dict`` / ``OrderedDict`` / ``Counter``, ``list``, ``tuple``,
``torch.Size``, ``set``, ``str``, ``bytes``, ``bytearray``, ``int``, ``float``, ``complex``, ``bool``,
``None``, ``torch.dtype`` and ``torch.device``. :func:`content_digest` refuses anything else (a numpy value, a
dataclass, a path) with a ``TypeError`` naming where it sits, at save time: such a checkpoint would not load
back.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from typing import Any

import torch

CONTENT_HASH = "factdyn_content_sha256"
"""Top-level checkpoint key holding the hex sha256 of everything else in the checkpoint."""

_SCALARS = {type(None): b"N", bool: b"B", int: b"I", float: b"F", complex: b"C", str: b"S"}
_MAPPINGS = {dict: b"D", OrderedDict: b"O", Counter: b"K"}
_SEQUENCES = {list: b"L", tuple: b"T", torch.Size: b"Z"}
_TENSORS = (torch.Tensor, torch.nn.Parameter)


class _Feed:
    """Feeds a tree into a hash: each item is a tag and a length-prefixed payload (no two trees collide)."""

    def __init__(self, hasher: Any | None) -> None:
        self.hasher = hasher  # None: check the types only (cheap: no tensor bytes are read)

    def put(self, tag: bytes, payload: bytes | memoryview = b"") -> None:
        if self.hasher is not None:
            self.hasher.update(tag + len(payload).to_bytes(8, "little"))
            self.hasher.update(payload)

    def walk(self, obj: Any, where: str) -> None:
        kind = type(obj)
        if kind in _SCALARS:
            self.put(_SCALARS[kind], _scalar_bytes(obj))
        elif kind in (bytes, bytearray):
            self.put(b"Y" if kind is bytes else b"A", bytes(obj))
        elif kind in _MAPPINGS:
            items = [(k, v) for k, v in obj.items() if not (where == "" and k == CONTENT_HASH)]
            self.put(_MAPPINGS[kind], len(items).to_bytes(8, "little"))
            for key, value in items:
                self.walk(key, f"{where}/{key!r}")
                self.walk(value, f"{where}/{key}")
        elif kind in _SEQUENCES:
            self.put(_SEQUENCES[kind], len(obj).to_bytes(8, "little"))
            for i, item in enumerate(obj):
                self.walk(item, f"{where}/{i}")
        elif kind is set:
            # Set order is not kept across processes (string hashing is salted): hash the sorted item hashes.
            items = sorted(_item_digest(item, f"{where}/<item>") for item in obj)
            self.put(b"E", b"".join(items))
        elif kind in (torch.dtype, torch.device):
            self.put(b"d" if kind is torch.dtype else b"v", str(obj).encode())
        elif kind in _TENSORS:
            self._tensor(obj)
        else:
            raise TypeError(
                f"checkpoint entry {where or '/'} is a {kind.__module__}.{kind.__qualname__}: "
                "torch.load(weights_only=True) would refuse it; a factdyn checkpoint holds only tensors, "
                "containers and plain Python values (e.g. torch.from_numpy(array), float(x), str(path))"
            )

    def _tensor(self, tensor: torch.Tensor) -> None:
        self.put(b"X", f"{tensor.dtype}{tuple(tensor.shape)}".encode())
        if self.hasher is None:
            return
        t = tensor.detach()
        if t.is_quantized:
            t = t.int_repr()
        if t.layout != torch.strided:
            t = t.to_dense()
        data = t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
        self.put(b"x", memoryview(data))


def _scalar_bytes(obj: Any) -> bytes:
    if isinstance(obj, float):
        return obj.hex().encode()  # exact (repr would be too, float.hex also spells nan and inf)
    if isinstance(obj, complex):
        return f"{obj.real.hex()},{obj.imag.hex()}".encode()
    if isinstance(obj, str):
        return obj.encode("utf-8", "surrogatepass")
    return repr(obj).encode()


def _item_digest(obj: Any, where: str) -> bytes:
    hasher = hashlib.sha256()
    _Feed(hasher).walk(obj, where)
    return hasher.digest()


def content_digest(checkpoint: dict[str, Any]) -> str:
    """The hex sha256 of everything in ``checkpoint`` except its own :data:`CONTENT_HASH` entry.

    Tensors count by dtype, shape and bytes (wherever they live: a GPU tensor is copied to the host, one at a
    time). Raises ``TypeError`` naming the entry when the checkpoint holds a type outside the list above.
    """
    hasher = hashlib.sha256()
    _Feed(hasher).walk(checkpoint, "")
    return hasher.hexdigest()


def check_loadable(checkpoint: dict[str, Any]) -> None:
    """``TypeError`` naming the first entry ``torch.load(weights_only=True)`` would refuse (no hashing)."""
    _Feed(None).walk(checkpoint, "")
