"""Where a training step's time goes: torch.profiler (CPU and device) and cProfile (Python) over a few steps.

Used by ``benchmarks/gpu.py --profile-train``. For each mode it writes ``train_profile_<mode>.txt``:
wall time per step, device (kernel) time per step and their ratio (below 1: the device waits for the host,
i.e. the step is launch- or Python-bound), the operators by self CPU time and by device time, and the
Python functions by cumulative time (cProfile, over a second window of the same length).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch


class StepProfile:
    """Steps ``[start, start + n)`` under torch.profiler, then ``[start + n, start + 2n)`` under cProfile."""

    def __init__(self, start: int, n: int, path: Path) -> None:
        self.start, self.n, self.path = start, n, path
        self._torch: torch.profiler.profile | None = None
        self._python = cProfile.Profile()
        self._phase = "idle"  # -> torch -> python -> done
        self._t0, self._step0 = 0.0, 0
        self.report: list[str] = []

    def at_step(self, step: int) -> None:
        """Call before step ``step`` runs."""
        if self._phase == "idle" and step == self.start:
            self._open(step)
            self._torch = torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU]
                + ([torch.profiler.ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
            )
            self._torch.__enter__()
            self._phase = "torch"
        elif self._phase == "torch" and step == self.start + self.n:
            self._close_torch(step)
            self._open(step)
            self._python.enable()
            self._phase = "python"
        elif self._phase == "python" and step == self.start + 2 * self.n:
            self._close_python(step)

    def finish(self, step: int) -> None:
        """After the last step: close a window the run ended inside (a run shorter than the windows)."""
        if self._phase == "torch" and step > self._step0:
            self._close_torch(step)
        elif self._phase == "python" and step > self._step0:
            self._close_python(step)
        elif self._torch is not None and self._phase == "torch":
            self._torch.__exit__(None, None, None)

    def _open(self, step: int) -> None:
        _sync()
        self._t0, self._step0 = time.perf_counter(), step

    def _per_step(self, step: int) -> tuple[float, int]:
        _sync()
        steps = step - self._step0
        return (time.perf_counter() - self._t0) / steps, steps

    def _close_torch(self, step: int) -> None:
        wall, steps = self._per_step(step)
        self._torch.__exit__(None, None, None)
        averages = self._torch.key_averages()
        device_ms = sum(getattr(e, "self_device_time_total", 0.0) for e in averages) / 1e3 / steps
        self.report += [
            f"wall {wall * 1e3:.2f} ms/step; device busy {device_ms:.2f} ms/step "
            f"(busy / wall {device_ms / (wall * 1e3):.2f}); {steps} steps, torch.profiler",
            averages.table(sort_by="self_cpu_time_total", row_limit=30),
        ]
        if torch.cuda.is_available():
            self.report.append(averages.table(sort_by="self_device_time_total", row_limit=20))
        self.path.write_text("\n".join(self.report))
        self._phase = "done"

    def _close_python(self, step: int) -> None:
        self._python.disable()
        wall, steps = self._per_step(step)
        out = io.StringIO()
        pstats.Stats(self._python, stream=out).sort_stats("cumulative").print_stats(45)
        self.report += [
            f"\n== cProfile, {steps} steps: {wall * 1e3:.2f} ms/step (inflates Python)",
            out.getvalue(),
        ]
        self.path.write_text("\n".join(self.report))
        self._phase = "done"


class StepProfileCallback(L.Callback):
    """:class:`StepProfile` inside ``Trainer.fit``; from the CLI (with ``benchmarks`` on ``PYTHONPATH``):
    ``--trainer.callbacks+=step_profile.StepProfileCallback --trainer.callbacks.start 1000 ...``.
    """

    def __init__(self, start: int, n: int, path: str) -> None:
        self.profile = StepProfile(start, n, Path(path))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.profile.at_step(trainer.global_step)

    def on_train_end(self, trainer, pl_module) -> None:
        self.profile.finish(trainer.global_step)


def profile_loop(step: Callable[[], None], start: int, n: int, path: Path) -> None:
    """Run ``start + 2n`` calls of ``step`` (a plain training step) under :class:`StepProfile`."""
    profile = StepProfile(start, n, path)
    for k in range(start + 2 * n + 1):
        profile.at_step(k)
        if k < start + 2 * n:
            step()


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
