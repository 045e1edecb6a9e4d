"""Callbacks: observe (summaries, phases, attention statistics) or intervene (patching, replay)."""

from factdyn.callbacks.adaptive_warmup import AdaptiveWarmUpSwitch
from factdyn.callbacks.attention_patching import AttentionPatching
from factdyn.callbacks.attention_statistics import AttentionStatistics
from factdyn.callbacks.checkpoints import CheckpointSchedule, checkpoint_steps
from factdyn.callbacks.hallucinations import HallucinationExamples
from factdyn.callbacks.phases import PhaseDetector
from factdyn.callbacks.summary import RunSummary

__all__ = [
    "AdaptiveWarmUpSwitch",
    "AttentionPatching",
    "AttentionStatistics",
    "CheckpointSchedule",
    "HallucinationExamples",
    "PhaseDetector",
    "RunSummary",
    "checkpoint_steps",
]
