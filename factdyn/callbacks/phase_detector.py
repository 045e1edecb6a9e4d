"""PhaseDetector: marks the end of phase 1, the end of the plateau and the arrival of knowledge during fit.

Shaped like Lightning's ``EarlyStopping``: a monitored metric, thresholds, ``state_key``, ``state_dict``,
silence under sanity checks and ``fast_dev_run``, and decisions agreed across ranks. The detection logic
lives in :mod:`factdyn.dynamics.phases` (no Lightning) so analysis code uses the same definitions.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info

from factdyn.callbacks.media import log_text
from factdyn.callbacks.quiet import quiet
from factdyn.callbacks.setup_checks import check_at_setup, logged_metrics
from factdyn.checks import ConfigError, require_metric
from factdyn.dynamics.phases import DEFAULT_THRESHOLDS, PhaseThresholds, PhaseTracker

BOUNDARY_TAGS = {
    "reached_baseline": "phase/reached_baseline_step",
    "plateau_end": "phase/plateau_end_step",
    "knowledge": "phase/knowledge_step",
}
BOUNDARY_WORDS = {
    "reached_baseline": "reached the no-knowledge baseline (end of phase 1, plateau starts)",
    "plateau_end": "left the plateau (end of phase 2)",
    "knowledge": "reached knowledge",
}
PHASE_WORDS = {1: "1 (statistics)", 2: "2 (plateau)", 3: "3 (knowledge)"}
"""The current phase as the progress display shows it."""


class PhaseDetector(Callback):
    """Detects the three learning phases on the held-out attribute loss at every validation.

    At each validation end it feeds ``monitor`` and the baseline (``baseline_monitor``) from
    ``trainer.callback_metrics`` to a
    :class:`~factdyn.dynamics.phases.PhaseTracker`; a new boundary is logged as a
    scalar (``phase/reached_baseline_step``, ``phase/plateau_end_step``, ``phase/knowledge_step``, value =
    the boundary's step) and as a line of TensorBoard text (tag ``phase/boundaries``; without TensorBoard,
    ``media/phase/boundaries.md``). ``summary()`` gives
    the ``plateau`` section of ``summary.json``. Other callbacks must not read this one: one that needs
    plateau detection (e.g. :class:`~factdyn.callbacks.AdaptiveWarmUpSwitch`) runs its own ``PhaseTracker``.

    Args:
        monitor: the attribute loss to watch.
        baseline_monitor: the logged no-knowledge baseline.
        accuracy_monitor: the accuracy used when ``thresholds.knowledge_accuracy`` is set.
        thresholds: the boundary thresholds, :class:`~factdyn.dynamics.phases.PhaseThresholds`
            (YAML ``phases.thresholds.patience`` ...).
        stop_on_knowledge: stop training once knowledge is reached.
        verbose: print each boundary when found.
        strict: refuse, before training, a monitor that names no metric the run logs, and fail at a
            validation whose metrics lack one (a mistyped name would otherwise give an empty plateau), as
            ``EarlyStopping`` does; ``False`` skips such validations.

    Attributes:
        reached_baseline_step, plateau_end_step, knowledge_step: the boundaries found so far (or ``None``).
    """

    def __init__(
        self,
        monitor: str = "val/attr_loss",
        baseline_monitor: str = "baseline/attr_loss",
        accuracy_monitor: str = "val/attr_acc",
        thresholds: PhaseThresholds = DEFAULT_THRESHOLDS,
        stop_on_knowledge: bool = False,
        verbose: bool = True,
        strict: bool = True,
    ) -> None:
        super().__init__()
        self.thresholds = thresholds.validate(prefix="phases.thresholds.")
        self.strict = strict
        self.monitor = monitor
        self.baseline_monitor = baseline_monitor
        self.accuracy_monitor = accuracy_monitor
        self.stop_on_knowledge = stop_on_knowledge
        self.verbose = verbose
        self.tracker = PhaseTracker(thresholds=self.thresholds)
        self.stopped_on_knowledge = False

    @property
    def state_key(self) -> str:
        return self._generate_state_key(monitor=self.monitor)

    @property
    def reached_baseline_step(self) -> int | None:
        return self.tracker.reached_baseline_step

    @property
    def plateau_end_step(self) -> int | None:
        return self.tracker.plateau_end_step

    @property
    def knowledge_step(self) -> int | None:
        return self.tracker.knowledge_step

    def monitors(self) -> dict[str, str]:
        """Field -> the metric it names, for the metrics this detector reads."""
        monitors = {"phases.monitor": self.monitor, "phases.baseline_monitor": self.baseline_monitor}
        if self.thresholds.knowledge_accuracy is not None:
            monitors["phases.accuracy_monitor"] = self.accuracy_monitor
        return monitors

    def check_setup(self, stage: str, datamodule: Any, pl_module: Any, callbacks: Any) -> None:
        """With ``strict``, every monitor names a metric the run logs (checked before training)."""
        logged = logged_metrics(datamodule, pl_module, callbacks) if stage == "fit" and self.strict else None
        if logged is not None:
            for field, name in self.monitors().items():
                require_metric(field, name, logged, " (or phases.strict: false)")

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        check_at_setup(self, trainer, pl_module, stage)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Not on_validation_epoch_end: callbacks run before the module there, so the epoch's metrics are
        # not computed yet. on_validation_end cannot use pl_module.log, hence the logger calls below.
        if quiet(trainer, fitting_only=True):
            return
        metrics = trainer.callback_metrics
        monitors = self.monitors()
        for field, name in monitors.items():
            if name not in metrics:
                if self.strict:
                    logged = sorted(k for k in metrics if k != "step")
                    raise ConfigError(
                        field, f"a logged metric, one of {logged} (or phases.strict: false)", name
                    )
                return
        values = [metrics[name] for name in monitors.values()]
        # Every rank feeds rank 0's values, so every rank's tracker holds the same boundaries.
        values = trainer.strategy.broadcast(
            torch.stack([v.detach().float().cpu().reshape(()) for v in values]), 0
        )
        loss, baseline = float(values[0]), float(values[1])
        accuracy = float(values[2]) if len(values) > 2 else None
        step = trainer.global_step
        found = self.tracker.update(step, loss, baseline=baseline, accuracy=accuracy)
        if found:
            self._report(trainer, found, loss)
        if self.stop_on_knowledge and self.tracker.knowledge_step is not None:
            should_stop = trainer.strategy.reduce_boolean_decision(True, all=False)
            if should_stop and not trainer.should_stop:
                self.stopped_on_knowledge = True
                trainer.should_stop = True

    def _report(self, trainer: L.Trainer, found: list[str], loss: float) -> None:
        steps = {name: getattr(self.tracker, f"{name}_step") for name in found}
        if self.verbose:
            for name, step in steps.items():
                rank_zero_info(
                    f"[phases] {self.monitor} {BOUNDARY_WORDS[name]} at step {step} (loss {loss:.4g})"
                )
        if trainer.global_rank != 0:
            return
        for logger in trainer.loggers:
            logger.log_metrics(
                {BOUNDARY_TAGS[n]: float(s) for n, s in steps.items()}, step=trainer.global_step
            )
        log_text(trainer, "phase/boundaries", self.boundaries_markdown())

    def boundaries_markdown(self) -> str:
        """One line per boundary found so far (TensorBoard renders the text as Markdown)."""
        b = self.tracker.baseline
        lines = []
        for name in BOUNDARY_TAGS:
            step = getattr(self.tracker, f"{name}_step")
            if step is not None:
                lines.append(f"- step **{step}**: {self.monitor} {BOUNDARY_WORDS[name]}")
        t = self.thresholds
        lines.append(
            f"\n_baseline {b:.4g}; reach ≤ {(1 + t.reach_tolerance) * b:.4g}, leave < "
            f"{(1 - t.leave_tolerance) * b:.4g} for {t.patience} evaluations, knowledge "
            + (
                f"acc ≥ {t.knowledge_accuracy}_"
                if t.knowledge_accuracy is not None
                else f"< {t.knowledge_fraction * b:.4g}_"
            )
        )
        return "\n".join(lines)

    def progress(self) -> dict[str, str]:
        """The current phase, for the progress display (:mod:`factdyn.callbacks.progress`)."""
        return {"phase": PHASE_WORDS[self.tracker.phase]}

    def summary(self) -> dict[str, Any]:
        """The ``plateau`` section of ``summary.json``."""
        phases = self.tracker.phases
        baseline = self.tracker.baseline
        return {
            "plateau": {
                "start_step": phases.plateau_start_step,
                "end_step": phases.plateau_end_step,
                "length_steps": phases.plateau_length,
                "knowledge_step": phases.knowledge_step,
                "baseline": None if baseline is None or not math.isfinite(baseline) else baseline,
                "monitor": self.monitor,
                "thresholds": asdict(self.thresholds),
                "stopped_on_knowledge": self.stopped_on_knowledge,
            }
        }

    def state_dict(self) -> dict[str, Any]:
        return {"tracker": self.tracker.state_dict(), "stopped_on_knowledge": self.stopped_on_knowledge}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.tracker.load_state_dict(state_dict["tracker"])
        self.stopped_on_knowledge = bool(state_dict.get("stopped_on_knowledge", False))
