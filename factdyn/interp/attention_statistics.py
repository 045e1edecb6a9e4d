"""Attention-pattern statistics of the recall circuit (paper §2.2, App. D.2, Figs. 3 right and F).

Pure functions: attention patterns (one ``(B, H, T, T)`` tensor per layer, post-softmax, model-input
coordinates) plus the name/value spans the data carries -> one number per layer and metric. No string
matching: token roles come from ``name_start/name_len/value_start/value_len``.

Definitions (the paper is silent on the details; see docs/attention.md):

- *name tokens*: every position inside a name span of the sequence (all occurrences of the name);
  *value tokens*: every position inside a value span; *text tokens*: every other real token (template
  words and punctuation), excluding ``<bos>``, ``<eos>`` and ``<pad>``. The three roles are disjoint.
- ``name_to_name``: query = the last token of each name occurrence; total attention on the *other* name
  tokens in its prefix (all earlier name tokens, the query itself excluded).
- ``attr_to_name`` / ``attr_to_text``: query = the position predicting the first value token
  (``value_start - 1`` in input coordinates); total attention on the name / text tokens of its prefix.
- ``entropy``: entropy of each attention row divided by ``log t``, ``t`` = number of attendable tokens
  (query position + 1); over every non-pad query position with ``t >= 2``.

The linear metrics are averaged over heads, then over occurrences (6 per sequence) and sequences, with
equal weight per occurrence; the entropy is computed per head and averaged over heads, rows and sequences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import torch

METRICS: tuple[str, ...] = ("name_to_name", "attr_to_name", "attr_to_text", "entropy")
FRACTIONS: tuple[str, ...] = ("name_to_name", "attr_to_name", "attr_to_text")
"""The metrics that are shares of a query's attention mass (``entropy`` is a normalised entropy)."""
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2


def span_mask(starts: torch.Tensor, lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) boolean mask of the positions covered by any of the (B, K) spans ``[start, start + len)``."""
    pos = torch.arange(T, device=starts.device)
    inside = (pos >= starts[..., None]) & (pos < (starts + lengths)[..., None])  # (B, K, T)
    return inside.any(dim=1)


def token_roles(
    tokens: torch.Tensor,
    name_start: torch.Tensor,
    name_len: torch.Tensor,
    value_start: torch.Tensor,
    value_len: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Boolean (B, T) masks ``name``, ``value``, ``text`` for model inputs ``tokens`` (B, T)."""
    T = tokens.shape[1]
    name = span_mask(name_start, name_len, T)
    value = span_mask(value_start, value_len, T)
    special = (tokens == PAD_ID) | (tokens == BOS_ID) | (tokens == EOS_ID)
    return {"name": name, "value": value & ~name, "text": ~(name | value | special)}


def attention_statistic_sums(
    patterns: Sequence[torch.Tensor],
    tokens: torch.Tensor,
    name_start: torch.Tensor,
    name_len: torch.Tensor,
    value_start: torch.Tensor,
    value_len: torch.Tensor,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Per-layer sums and counts of every metric, so that batches can be pooled: mean = sum / count.

    Args:
        patterns: per layer, post-softmax attention (B, H, T, T) on model inputs ``tokens`` (B, T).
        tokens: the model inputs (``batch["tokens"][:, :-1]``).
        name_start, name_len, value_start, value_len: (B, K) spans per sentence slot, as in the batch.

    Returns:
        (sums, counts): dicts metric -> float64 tensor of shape (n_layer,).
    """
    B, T = tokens.shape
    roles = token_roles(tokens, name_start, name_len, value_start, value_len)
    rows = torch.arange(B, device=tokens.device)[:, None]
    keys = torch.arange(T, device=tokens.device)

    name_query = name_start + name_len - 1  # (B, K) last token of each name occurrence
    name_ok = (name_len >= 2) & (name_query < T)  # a one-token name has no "other" name tokens
    name_keys = roles["name"][:, None, :] & (keys != name_query.clamp(max=T - 1)[..., None])  # (B, K, T)
    attr_query = value_start - 1  # the logit predicting value token p sits at input position p - 1
    attr_ok = (value_len >= 1) & (attr_query >= 0) & (attr_query < T)

    not_pad = tokens != PAD_ID
    t = keys + 1
    entropy_rows = not_pad & (t >= 2)[None, :]  # (B, T)
    log_t = torch.log(t.clamp(min=2).to(torch.float64))

    sums: dict[str, list[torch.Tensor]] = {m: [] for m in METRICS}
    counts: dict[str, list[torch.Tensor]] = {m: [] for m in METRICS}
    for pattern in patterns:
        if pattern.shape != (B, pattern.shape[1], T, T):
            raise ValueError(
                f"attention pattern of shape {tuple(pattern.shape)} does not match tokens {(B, T)}"
            )
        p = pattern.detach().to(torch.float64)
        mean_heads = p.mean(dim=1)  # (B, T, T): the linear metrics commute with the head average

        at_name = mean_heads[rows, name_query.clamp(0, T - 1)]  # (B, K, T)
        n2n = (at_name * name_keys).sum(-1)
        sums["name_to_name"].append(n2n[name_ok].sum())
        counts["name_to_name"].append(name_ok.sum().to(torch.float64))

        at_attr = mean_heads[rows, attr_query.clamp(0, T - 1)]  # (B, K, T)
        for metric, role in (("attr_to_name", "name"), ("attr_to_text", "text")):
            share = (at_attr * roles[role][:, None, :]).sum(-1)
            sums[metric].append(share[attr_ok].sum())
            counts[metric].append(attr_ok.sum().to(torch.float64))

        ent = -(p * torch.log(p.clamp(min=1e-30))).sum(-1) / log_t  # (B, H, T), 0 log 0 = 0
        sums["entropy"].append(ent.mean(dim=1)[entropy_rows].sum())
        counts["entropy"].append(entropy_rows.sum().to(torch.float64))
    return {m: torch.stack(v) for m, v in sums.items()}, {m: torch.stack(v) for m, v in counts.items()}


def attention_statistics(
    patterns: Sequence[torch.Tensor], tokens: torch.Tensor, **spans: torch.Tensor
) -> dict:
    """Per-layer means of every metric on one batch: metric -> (n_layer,) tensor (nan where undefined)."""
    sums, counts = attention_statistic_sums(patterns, tokens, **spans)
    return {m: sums[m] / counts[m] for m in METRICS}


def uniform_patterns(B: int, T: int, n_layer: int = 1, n_head: int = 1) -> list[torch.Tensor]:
    """Causal uniform attention (every query spreads evenly over its prefix): the untrained-model limit."""
    causal = torch.ones(T, T).tril()
    pattern = (causal / causal.sum(-1, keepdim=True)).expand(B, n_head, T, T)
    return [pattern.clone() for _ in range(n_layer)]


def layer_tag(metric: str, layer: int) -> str:
    """The logged tag of one metric at one (0-based) layer: ``attn/<metric>/layer_<l>``."""
    return f"attn/{metric}/layer_{layer}"


def tagged_layers(tags: Iterable[str]) -> list[int]:
    """The layers, in order, that some ``attn/<metric>/layer_<l>`` among ``tags`` is about."""
    found = (re.fullmatch(r"attn/[a-z_]+/layer_(\d+)", tag) for tag in tags)
    return sorted({int(match.group(1)) for match in found if match})
