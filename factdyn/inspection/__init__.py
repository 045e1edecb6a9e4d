"""Inspecting a trained run: load it, ask it about individuals, record its attention, export it.

- :func:`load_run` (:mod:`~factdyn.inspection.loaded_run`): a checkpoint or run directory as a
  :class:`LoadedRun` (model, populations, tokenizer, biographies, ``ask``, ``attention``);
- ``factdyn predict`` / ``ask`` / ``export`` (:mod:`~factdyn.inspection.commands`);
- :mod:`~factdyn.inspection.transformer_lens_export`: the model as a TransformerLens ``HookedTransformer``.

It reads checkpoints and the data; it never trains and knows no callback.
"""

from factdyn.inspection.answers import Answer
from factdyn.inspection.attention import AttentionRecord
from factdyn.inspection.loaded_run import LoadedRun, load_run
from factdyn.inspection.people import Person

__all__ = ["Answer", "AttentionRecord", "LoadedRun", "Person", "load_run"]
