"""Data: synthetic biographies of fictional individuals. Never imports the model or Lightning modules."""

from factdyn.data.adaptive import AdaptiveWarmUp
from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.samplers import IndividualSampler, Uniform

__all__ = ["AdaptiveWarmUp", "BiographyDataModule", "IndividualSampler", "Uniform"]
