"""Data: synthetic biographies of fictional individuals. Never imports the model or the training system;
only ``datamodule`` (the LightningDataModule) imports Lightning."""

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
from factdyn.data.samplers.adaptive_warmup import AdaptiveWarmUp

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
