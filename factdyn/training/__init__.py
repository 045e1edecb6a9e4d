"""The training system: the LightningModule (``module``) and what it owns: its metrics, the learning-rate
schedule, checkpoint files and Lightning's checkpoint plugin, run-directory policy and pretrained loading.

Nothing is imported here, so that Lightning-free modules (``checkpoint_files``, ``pretrained``, ``metrics``,
``schedule``) load without Lightning: ``from factdyn.training.module import FactLearner``.
"""
