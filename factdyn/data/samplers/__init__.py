"""Individual samplers: which individuals the next training batch is about (see ``base``).

``base`` holds the interface and the uniform sampler, ``frequency`` the fixed imbalanced distributions,
``curricula`` those that change with the step (warm-up, sequential groups, adaptive warm-up) and ``replay``
the fine-tuning mixture.
"""

from factdyn.data.samplers.adaptive_warmup import AdaptiveWarmUp
from factdyn.data.samplers.base import IndividualSampler, Uniform
from factdyn.data.samplers.curricula import SequentialGroups, WarmUp
from factdyn.data.samplers.frequency import Celebrities, Zipf
from factdyn.data.samplers.replay import ReplayMixture

SAMPLERS = (Uniform, Zipf, Celebrities, WarmUp, SequentialGroups, ReplayMixture, AdaptiveWarmUp)
"""Every sampler factdyn ships (``--data.sampler`` takes their names)."""

__all__ = [
    "SAMPLERS",
    "AdaptiveWarmUp",
    "Celebrities",
    "IndividualSampler",
    "ReplayMixture",
    "SequentialGroups",
    "Uniform",
    "WarmUp",
    "Zipf",
]
