"""Named hook points (the TransformerLens idea) with temporary hooks that always clean up.

A hook is ``fn(tensor, hook) -> tensor | None``: returning a tensor replaces the value flowing through the
point (patching); returning ``None`` leaves it unchanged (recording).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn

from factdyn.checks import ConfigError

HookFn = Callable[[torch.Tensor, "HookPoint"], "torch.Tensor | None"]


class HookPoint(nn.Identity):
    """An identity module whose forward hooks can read or replace the tensor passing through it."""

    def __init__(self) -> None:
        super().__init__()
        self.name: str = ""

    def has_hooks(self) -> bool:
        return bool(self._forward_hooks)

    def add_hook(self, fn: HookFn) -> torch.utils.hooks.RemovableHandle:
        return self.register_forward_hook(lambda module, inputs, output: fn(output, module))


def hook_points(model: nn.Module) -> dict[str, HookPoint]:
    """All hook points of ``model`` by qualified name, e.g. ``transformer.h.0.attn.hook_pattern``."""
    points = {}
    for name, module in model.named_modules():
        if isinstance(module, HookPoint):
            module.name = name
            points[name] = module
    return points


def pattern_hook_names(model: nn.Module) -> list[str]:
    """Names of the post-softmax attention-pattern hook points, in layer order."""
    return [name for name in hook_points(model) if name.endswith("attn.hook_pattern")]


def require_pattern_hooks(model: nn.Module, user: str, note: str = "") -> list[str]:
    """``pattern_hook_names(model)``, or a ConfigError naming ``user`` when the model has no attention.

    A model built with ``sequence_mixer: hawk`` (a recurrence, no attention pattern) is refused with
    ``"model.config.sequence_mixer: 'attention' (<user> reads attention patterns), got 'hawk'"``.
    """
    names = pattern_hook_names(model)
    if not names:
        mixer = getattr(getattr(model, "config", None), "sequence_mixer", None)
        got = mixer or f"a {type(model).__name__} without attention-pattern hook points"
        raise ConfigError(
            "model.config.sequence_mixer", f"'attention' ({user} reads attention patterns{note})", got
        )
    return names


@contextmanager
def hooks(model: nn.Module, fns: Mapping[str, HookFn]) -> Iterator[None]:
    """Attach ``fns`` (hook-point name -> hook) for the duration of the ``with`` block, even on error."""
    points = hook_points(model)
    unknown = sorted(set(fns) - set(points))
    if unknown:
        raise KeyError(f"unknown hook points {unknown}; available: {sorted(points)}")
    handles = [points[name].add_hook(fn) for name, fn in fns.items()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def run_with_patterns(model: nn.Module, idx: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Forward ``idx`` and return (logits, per-layer attention patterns of shape (B, H, T, T))."""
    patterns: list[torch.Tensor] = []

    def record(pattern: torch.Tensor, hook: HookPoint) -> None:
        patterns.append(pattern)

    with hooks(model, {name: record for name in pattern_hook_names(model)}):
        logits = model(idx)
    return logits, patterns
