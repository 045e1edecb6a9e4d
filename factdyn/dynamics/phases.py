"""The three phases of fact learning (Zucchet et al. 2025, §2.1), detected from an attribute-loss curve.

Pure logic with no Lightning and no torch, so analysis code can reuse it on logged curves. Given the
evaluated points ``(step, loss)`` of the held-out attribute loss and the no-knowledge baseline ``b``:

1. **Reaching the baseline** (end of phase 1, start of the plateau): the first evaluated step with
   ``loss <= (1 + reach_tolerance) * b``. A curve that starts inside or below that band reaches it at its
   first point (phase 1 is instant).
2. **Leaving the plateau** (end of phase 2): the first evaluated step, at or after the plateau start, of a
   run of ``patience`` consecutive evaluations all with ``loss < (1 - leave_tolerance) * b``. The step
   reported is the first of the run; it becomes known ``patience - 1`` evaluations later. A dip that
   returns above the band before ``patience`` evaluations is noise and is forgotten. A curve that drops
   straight through the band without stopping gets a plateau of length 0: the plateau starts and ends
   at the same evaluated step (the first one inside the reach band is already below the leave band).
3. **Reaching knowledge** (into phase 3): the first evaluated step, at or after the plateau start, with
   ``loss < knowledge_fraction * b``; or, when ``knowledge_accuracy`` is set, with
   ``accuracy >= knowledge_accuracy`` instead.

Boundaries that the curve never crosses stay ``None``. Non-finite losses count as "not below" anything.
The paper gives no criterion for the plateau end (spec §2.2 [NF]); these defaults are ours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from factdyn.checks import require_int, require_number

BOUNDARIES: tuple[str, ...] = ("reached_baseline", "plateau_end", "knowledge")
"""Names of the three boundaries, in the order a curve crosses them."""


@dataclass(frozen=True)
class PhaseThresholds:
    """Thresholds of the phase boundaries, all relative to the no-knowledge baseline.

    Args:
        reach_tolerance: phase 1 ends at the first loss ``<= (1 + reach_tolerance) * baseline``.
        leave_tolerance: the plateau ends when the loss is ``< (1 - leave_tolerance) * baseline``...
        patience: ...for this many consecutive evaluations (the first of them is the plateau end).
        knowledge_fraction: knowledge is reached at the first loss ``< knowledge_fraction * baseline``.
        knowledge_accuracy: if set, knowledge is reached at the first accuracy ``>= knowledge_accuracy``
            instead of by the loss criterion.
    """

    reach_tolerance: float = 0.10
    leave_tolerance: float = 0.10
    patience: int = 2
    knowledge_fraction: float = 0.10
    knowledge_accuracy: float | None = None

    def validate(self, prefix: str = "") -> PhaseThresholds:
        """Raise :class:`~factdyn.checks.ConfigError` naming the field (with ``prefix``, e.g.
        ``phases.thresholds.``) for bad values; returns ``self``."""
        require_number(f"{prefix}reach_tolerance", self.reach_tolerance, 0)
        require_number(f"{prefix}leave_tolerance", self.leave_tolerance, 0, 1, high_open=True)
        require_int(f"{prefix}patience", self.patience, 1)
        require_number(
            f"{prefix}knowledge_fraction",
            self.knowledge_fraction,
            0,
            1 - self.leave_tolerance,
            low_open=True,
        )
        require_number(
            f"{prefix}knowledge_accuracy", self.knowledge_accuracy, 0, 1, low_open=True, allow_none=True
        )
        return self


DEFAULT_THRESHOLDS = PhaseThresholds()
"""The default thresholds (frozen, so one shared instance serves as every default argument)."""


@dataclass(frozen=True)
class Phases:
    """Boundary steps of a curve (``None`` where the curve never crossed the boundary)."""

    reached_baseline_step: int | None
    plateau_end_step: int | None
    knowledge_step: int | None

    @property
    def plateau_start_step(self) -> int | None:
        return self.reached_baseline_step

    @property
    def plateau_length(self) -> int | None:
        """Steps spent on the plateau; 0 for a straight drop; ``None`` while either end is unknown."""
        if self.reached_baseline_step is None or self.plateau_end_step is None:
            return None
        return self.plateau_end_step - self.reached_baseline_step


class PhaseTracker:
    """Online detector of the three phase boundaries; feed it evaluated points in step order.

    Args:
        baseline: the no-knowledge attribute loss; may instead be given with the first :meth:`update`.
        thresholds: the boundary thresholds (defaults: :class:`PhaseThresholds`).

    Example::

        tracker = PhaseTracker(baseline=5.8)
        for step, loss in curve:
            for boundary in tracker.update(step, loss):
                print(boundary, tracker.phases)
    """

    def __init__(self, baseline: float | None = None, thresholds: PhaseThresholds | None = None) -> None:
        self.thresholds = (thresholds or PhaseThresholds()).validate()
        self.baseline = baseline
        self.reached_baseline_step: int | None = None
        self.plateau_end_step: int | None = None
        self.knowledge_step: int | None = None
        self.last_step: int | None = None
        # The current run of evaluations below the leave band: its first step and its length.
        self._run_start: int | None = None
        self._run_length = 0

    @property
    def phases(self) -> Phases:
        return Phases(self.reached_baseline_step, self.plateau_end_step, self.knowledge_step)

    @property
    def phase(self) -> int:
        """The current phase: 1 (above the baseline), 2 (plateau), 3 (knowledge emerging)."""
        if self.reached_baseline_step is None:
            return 1
        return 2 if self.plateau_end_step is None else 3

    def update(
        self, step: int, loss: float, baseline: float | None = None, accuracy: float | None = None
    ) -> list[str]:
        """Add one evaluated point; return the boundaries (names from ``BOUNDARIES``) found by it.

        Points at a step not after the last one are ignored (e.g. the repeated evaluation of a resumed run),
        so replaying a prefix of the curve is harmless.
        """
        if baseline is not None:
            self.baseline = float(baseline)
        if self.baseline is None or not self.baseline > 0:
            raise ValueError(f"PhaseTracker needs a positive baseline, got {self.baseline}")
        t = self.thresholds
        if t.knowledge_accuracy is not None and accuracy is None:
            raise ValueError("PhaseTracker: knowledge_accuracy is set, so update() needs an accuracy")
        step = int(step)
        if self.last_step is not None and step <= self.last_step:
            return []
        self.last_step = step
        loss = float(loss)
        finite = math.isfinite(loss)
        found: list[str] = []

        if self.reached_baseline_step is None:
            if not (finite and loss <= (1 + t.reach_tolerance) * self.baseline):
                return found
            self.reached_baseline_step = step
            found.append("reached_baseline")

        if self.plateau_end_step is None:
            if finite and loss < (1 - t.leave_tolerance) * self.baseline:
                if self._run_length == 0:
                    self._run_start = step
                self._run_length += 1
                if self._run_length >= t.patience:
                    self.plateau_end_step = self._run_start
                    found.append("plateau_end")
            else:
                self._run_start, self._run_length = None, 0

        if self.knowledge_step is None:
            if t.knowledge_accuracy is not None:
                known = accuracy is not None and math.isfinite(accuracy) and accuracy >= t.knowledge_accuracy
            else:
                known = finite and loss < t.knowledge_fraction * self.baseline
            if known:
                self.knowledge_step = step
                found.append("knowledge")
        return found

    def state_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "reached_baseline_step": self.reached_baseline_step,
            "plateau_end_step": self.plateau_end_step,
            "knowledge_step": self.knowledge_step,
            "last_step": self.last_step,
            "run_start": self._run_start,
            "run_length": self._run_length,
            "thresholds": asdict(self.thresholds),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.baseline = state["baseline"]
        self.reached_baseline_step = state["reached_baseline_step"]
        self.plateau_end_step = state["plateau_end_step"]
        self.knowledge_step = state["knowledge_step"]
        self.last_step = state["last_step"]
        self._run_start = state["run_start"]
        self._run_length = state["run_length"]


def detect_phases(
    steps: Sequence[int] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    baseline: float,
    accuracies: Sequence[float] | np.ndarray | None = None,
    thresholds: PhaseThresholds | None = None,
    **threshold_kwargs: Any,
) -> Phases:
    """Replay a whole curve through a :class:`PhaseTracker` (points are sorted by step first).

    Thresholds come from ``thresholds`` or from keyword arguments (``patience=3``, ...), not both.
    """
    if thresholds is not None and threshold_kwargs:
        raise ValueError("detect_phases: pass either thresholds or threshold keyword arguments, not both")
    thresholds = thresholds or PhaseThresholds(**threshold_kwargs)
    steps = np.asarray(steps)
    losses = np.asarray(losses, dtype=float)
    if steps.shape != losses.shape or steps.ndim != 1:
        raise ValueError(
            f"detect_phases: steps and losses must be 1-d of equal length, got {steps.shape}, {losses.shape}"
        )
    accs = None if accuracies is None else np.asarray(accuracies, dtype=float)
    if accs is not None and accs.shape != steps.shape:
        raise ValueError(f"detect_phases: accuracies must match steps, got {accs.shape} vs {steps.shape}")
    tracker = PhaseTracker(baseline, thresholds)
    for i in np.argsort(steps, kind="stable"):
        tracker.update(int(steps[i]), float(losses[i]), accuracy=None if accs is None else float(accs[i]))
    return tracker.phases
