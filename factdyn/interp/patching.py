"""Attention patching (paper §2.2, App. D.1): run a model with a frozen reference model's attention patterns.

The reference processes the same input with its own weights (each of its layers feeds its own next layer,
the paper's "twin architecture"); its post-softmax patterns replace the patched model's, layer by layer,
through the public ``hook_pattern`` points. The reference runs under ``torch.no_grad`` (the paper's
stop-gradient), so nothing flows into it, and the patched model's query/key weights of a patched layer get
no gradient (their only use, the pattern, is replaced).

Lightning-free; :class:`factdyn.callbacks.AttentionPatching` drives it during training.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from factdyn.checks import require
from factdyn.model.hooks import (
    HookPoint,
    hooks,
    pattern_hook_names,
    require_pattern_hooks,
    run_with_patterns,
)
from factdyn.run_layout import checkpoint_dir, step_filename
from factdyn.training.pretrained import Pretrained, load_pretrained, mismatches


def checkpoint_path(reference_checkpoint: str | Path, reference_step: int | None = None) -> Path:
    """Resolve a reference: a ``.ckpt`` file, or a run directory plus a step of its CheckpointSchedule.

    A run directory (``logs/<name>/version_N``) with ``reference_step=s`` resolves to
    ``<run_dir>/checkpoints/``:func:`~factdyn.run_layout.step_filename` ``(s)``,
    e.g. ``step=00000750.ckpt`` for ``s = 750``: the :class:`~factdyn.callbacks.CheckpointSchedule` naming.
    """
    path = Path(reference_checkpoint)
    if path.is_dir():
        require(
            reference_step is not None,
            "AttentionPatching.reference_step",
            f"one of the checkpoint steps of run directory {str(path)!r} (reference_checkpoint)",
            reference_step,
        )
        path = checkpoint_dir(path) / step_filename(reference_step)
    if not path.is_file():
        where = path.parent
        available = sorted(p.name for p in where.glob("*.ckpt")) if where.is_dir() else []
        raise FileNotFoundError(
            f"AttentionPatching: reference checkpoint {str(path)!r} not found"
            + (f"; available in {str(where)!r}: {available}" if available else "")
        )
    return path


Reference = Pretrained
"""A frozen reference model: the patterns come from its own forward."""


def load_reference(path: str | Path) -> Reference:
    """Load the Transformer of a factdyn checkpoint (no LightningModule, no optimizer state), frozen."""
    return load_pretrained(path, frozen=True)


def check_compatible(reference: Reference, model: nn.Module, tokenizer_fingerprint: str) -> None:
    """Refuse, naming every mismatching field, a reference that cannot stand in for ``model``'s attention."""
    require_pattern_hooks(model, "AttentionPatching", "; a recurrent mixer has none to patch")
    found = mismatches(reference, getattr(model, "config", None), tokenizer_fingerprint, label="reference")
    require(
        not found,
        "AttentionPatching.reference_checkpoint",
        "a checkpoint that matches the model (" + "; ".join(found) + ")",
        str(reference.path),
    )


def check_layers(layers: Sequence[int] | None, n_layer: int) -> list[int]:
    """The layers to patch (default all), validated against the model depth."""
    if layers is None:
        return list(range(n_layer))
    bad = [layer for layer in layers if not 0 <= layer < n_layer]
    require(
        not bad and len(set(layers)) == len(layers),
        "AttentionPatching.layers",
        f"distinct layer indices in [0, {n_layer - 1}]",
        list(layers),
    )
    return sorted(layers)


def _replace_with(reference_pattern: torch.Tensor):
    def replace(pattern: torch.Tensor, hook: HookPoint) -> torch.Tensor:
        if pattern.shape != reference_pattern.shape:
            raise RuntimeError(
                f"{hook.name}: reference pattern {tuple(reference_pattern.shape)} does not match the model's "
                f"{tuple(pattern.shape)} (patch the same input the reference saw)"
            )
        return reference_pattern.to(dtype=pattern.dtype)

    return replace


@contextmanager
def patched_attention(
    model: nn.Module, reference: nn.Module, idx: torch.Tensor, layers: Sequence[int] | None = None
) -> Iterator[list[torch.Tensor]]:
    """Inside the block, ``model(idx)`` uses ``reference``'s attention patterns on ``idx`` in ``layers``.

    Yields the reference patterns of the patched layers. The hooks are removed on exit, even on error.
    """
    names = pattern_hook_names(model)
    layers = check_layers(layers, len(names))
    with torch.no_grad():
        _, ref_patterns = run_with_patterns(reference, idx)
    if len(ref_patterns) != len(names):
        raise ValueError(f"reference has {len(ref_patterns)} attention layers, the model {len(names)}")
    chosen = [ref_patterns[layer].detach() for layer in layers]
    with hooks(model, {names[layer]: _replace_with(p) for layer, p in zip(layers, chosen, strict=True)}):
        yield chosen
