"""Callbacks: observe (summaries, phases, attention statistics) or intervene (patching, replay)."""

from factdyn.callbacks.adaptive_warmup_switch import AdaptiveWarmUpSwitch
from factdyn.callbacks.attention_patching import AttentionPatching
from factdyn.callbacks.attention_statistics import AttentionStatistics
from factdyn.callbacks.bucket_metrics import BucketMetrics
from factdyn.callbacks.checkpoint_schedule import CheckpointSchedule, checkpoint_steps
from factdyn.callbacks.data_stream_recorder import DataStreamRecorder
from factdyn.callbacks.exposure_counter import ExposureCounter, exposure_stats
from factdyn.callbacks.hallucination_examples import HallucinationExamples
from factdyn.callbacks.knowledge_panel import KnowledgePanel
from factdyn.callbacks.nonfinite_guard import NonFiniteGuard, NonFiniteLossError
from factdyn.callbacks.phase_detector import PhaseDetector
from factdyn.callbacks.preemption import PreemptionCheckpoint
from factdyn.callbacks.replay_mixing import ReplayMixing
from factdyn.callbacks.run_summary import RunSummary
from factdyn.callbacks.tensorboard_hparams import TensorBoardHparams
from factdyn.callbacks.tensorboard_layout import TensorBoardLayout
from factdyn.callbacks.validation_at_start import ValidationAtStart
from factdyn.callbacks.validation_on_resume import ValidationOnResume

__all__ = [
    "AdaptiveWarmUpSwitch",
    "AttentionPatching",
    "AttentionStatistics",
    "BucketMetrics",
    "CheckpointSchedule",
    "DataStreamRecorder",
    "ExposureCounter",
    "HallucinationExamples",
    "KnowledgePanel",
    "NonFiniteGuard",
    "NonFiniteLossError",
    "PhaseDetector",
    "PreemptionCheckpoint",
    "ReplayMixing",
    "RunSummary",
    "TensorBoardHparams",
    "TensorBoardLayout",
    "ValidationAtStart",
    "ValidationOnResume",
    "checkpoint_steps",
    "exposure_stats",
]
