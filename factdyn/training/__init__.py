"""The training system: the LightningModule and what it owns (metrics, checkpoint I/O, pretrained loading)."""

from factdyn.training.module import FactLearner

__all__ = ["FactLearner"]
