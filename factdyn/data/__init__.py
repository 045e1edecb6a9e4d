"""Data: synthetic biographies of fictional individuals. Never imports the model or Lightning modules."""

from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.samplers import IndividualSampler, Uniform

__all__ = ["BiographyDataModule", "IndividualSampler", "Uniform"]
