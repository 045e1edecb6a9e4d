"""Callbacks: observe (summaries, phases, attention statistics) or intervene (patching, replay)."""

from factdyn.callbacks.adaptive_warmup import AdaptiveWarmUpSwitch
from factdyn.callbacks.attention_patching import AttentionPatching
from factdyn.callbacks.attention_statistics import AttentionStatistics
from factdyn.callbacks.buckets import BucketMetrics
from factdyn.callbacks.checkpoints import CheckpointSchedule, checkpoint_steps
from factdyn.callbacks.data_stream import DataStreamRecorder
from factdyn.callbacks.exposures import ExposureCounter, exposure_stats
from factdyn.callbacks.hallucinations import HallucinationExamples
from factdyn.callbacks.nonfinite import NonFiniteGuard, NonFiniteLossError
from factdyn.callbacks.phases import PhaseDetector
from factdyn.callbacks.replay import ReplayMixing
from factdyn.callbacks.resume import ValidationOnResume
from factdyn.callbacks.summary import RunSummary

__all__ = [
    "AdaptiveWarmUpSwitch",
    "AttentionPatching",
    "AttentionStatistics",
    "BucketMetrics",
    "CheckpointSchedule",
    "DataStreamRecorder",
    "ExposureCounter",
    "HallucinationExamples",
    "NonFiniteGuard",
    "NonFiniteLossError",
    "PhaseDetector",
    "ReplayMixing",
    "RunSummary",
    "ValidationOnResume",
    "checkpoint_steps",
    "exposure_stats",
]
