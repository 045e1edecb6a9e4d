"""The attention patterns of one biography, with each token's role and the recall-circuit statistics.

Through the model's pattern hook points (:func:`factdyn.model.hooks.run_with_patterns`, which switches to
the explicit attention path while recording) and the statistics of :mod:`factdyn.interp.attention_statistics`
(the ones ``configs/experiments/attention_statistics.yaml`` logs during training, here for one biography).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from factdyn.data.batches import to_torch
from factdyn.data.biography import BiographyBatch
from factdyn.data.tokenizer import Tokenizer
from factdyn.interp.attention_statistics import attention_statistics, token_roles
from factdyn.model.hooks import require_pattern_hooks, run_with_patterns

SPAN_FIELDS = ("name_start", "name_len", "value_start", "value_len")


@dataclass
class AttentionRecord:
    """One biography's attention, in model-input coordinates (the biography without its last ``<eos>``).

    Attributes:
        tokens: the T input tokens as strings, ``<bos>`` first.
        patterns: per layer, the post-softmax pattern (n_head, T, T): row = query, column = key.
        roles: ``name``, ``value``, ``text``: (T,) masks of each token's role (from the data's spans).
        statistics: ``name_to_name``, ``attr_to_name``, ``attr_to_text``, ``entropy``: one value per layer
            (``docs/attention.md`` defines them).
    """

    tokens: list[str]
    patterns: list[torch.Tensor]
    roles: dict[str, torch.Tensor]
    statistics: dict[str, list[float]]


@torch.no_grad()
def record_attention(
    model: nn.Module, batch: BiographyBatch, tokenizer: Tokenizer, row: int = 0
) -> AttentionRecord:
    """The attention of biography ``row`` of ``batch`` (a model without attention, e.g. Hawk, is refused in
    one line)."""
    require_pattern_hooks(model, "attention recording")
    device = next(model.parameters()).device
    tensors = {k: v.to(device) for k, v in to_torch(batch.select(np.array([row]))).items()}
    inputs = tensors["tokens"][:, :-1]
    _, patterns = run_with_patterns(model, inputs)
    spans = {k: tensors[k] for k in SPAN_FIELDS}
    statistics = attention_statistics(patterns, inputs, **spans)
    roles = token_roles(inputs, **spans)
    words = tokenizer.pieces(inputs[0].tolist())
    return AttentionRecord(
        tokens=words,
        patterns=[p[0].cpu() for p in patterns],
        roles={k: v[0].cpu() for k, v in roles.items()},
        statistics={k: [float(x) for x in v] for k, v in statistics.items()},
    )
