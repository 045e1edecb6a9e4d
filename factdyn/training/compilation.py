"""``torch.compile`` for training steps, and whether this machine can compile for the CPU at all."""

from __future__ import annotations

import functools

import torch


def compile_model(
    model: torch.nn.Module, mode: str = "default", dynamic: bool | None = True, backend: str = "inductor"
) -> torch.nn.Module:
    """``torch.compile`` the Transformer; ``backend="eager"`` lets tests count recompilations cheaply."""
    return torch.compile(
        model, mode=None if backend != "inductor" else mode, dynamic=dynamic, backend=backend
    )


@functools.cache
def cpu_compiler() -> str | None:
    """The C++ compiler inductor's CPU backend would use, or ``None`` if it finds none.

    Inductor only looks for one at the first compiled call, and then fails mid-run; asking first lets a
    config that says ``model.compile: true`` (the quickstart) still run, eagerly, on such a machine.
    """
    from torch._inductor import cpp_builder

    try:
        return cpp_builder.get_cpp_compiler()
    except Exception:  # inductor raises its own InvalidCxxCompiler, or OSError/RuntimeError on odd set-ups
        return None
