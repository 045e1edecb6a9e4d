"""Callbacks: observe (summaries, phases, attention statistics) or intervene (patching, replay)."""

from factdyn.callbacks.checkpoints import CheckpointSchedule, checkpoint_steps
from factdyn.callbacks.summary import RunSummary

__all__ = ["CheckpointSchedule", "RunSummary", "checkpoint_steps"]
