"""Data: synthetic biographies of fictional individuals. Never imports the model or Lightning modules."""

from factdyn.data.adaptive import AdaptiveWarmUp
from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.samplers import (
    Celebrities,
    IndividualSampler,
    ReplayMixture,
    SequentialGroups,
    Uniform,
    WarmUp,
    Zipf,
)

__all__ = [
    "AdaptiveWarmUp",
    "BiographyDataModule",
    "Celebrities",
    "IndividualSampler",
    "ReplayMixture",
    "SequentialGroups",
    "Uniform",
    "WarmUp",
    "Zipf",
]
