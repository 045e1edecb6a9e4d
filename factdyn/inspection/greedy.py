"""Greedy answers: the value a model writes after a prompt, token by token, and how sure it is.

Each step appends the most probable next token (under the full softmax over the vocabulary, no constraint
to valid values). The answer ends when it spells a complete value (values are prefix-free token sequences,
:mod:`factdyn.inspection.values`), at a special token, when the model writes the template's next token
where no value could go on, or at the attribute's longest value length. Its probability is the product of
its tokens' probabilities. Next to it, the probability of the true value given the same prompt
(teacher-forced: ``exp(-loss)`` of the value as ``val/attr_loss`` counts it).

Prompts of one batch have different lengths: they are right-padded, and each row reads the logits at its
own last position (causal attention: the padding after a row never reaches it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from factdyn.inspection.prompts import Prompt
from factdyn.inspection.values import ValueVocabulary

SPECIAL = (0, 1, 2)
"""``<pad>``, ``<bos>``, ``<eos>``: never part of a value."""


@dataclass(frozen=True)
class Decoded:
    """The greedy answer's tokens and probability, and the true value's probability."""

    tokens: tuple[int, ...]
    p_answer: float
    p_truth: float


def _last_logits(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Next-token log-probabilities (B, V) after each row's first ``lengths[b]`` tokens."""
    hidden = model.hidden(tokens[:, : int(lengths.max())])
    last = hidden[torch.arange(len(lengths), device=tokens.device), lengths - 1]
    return torch.log_softmax(model.lm_head(last).float(), dim=-1)


def _padded(rows: Sequence[Sequence[int]], width: int, device: torch.device) -> torch.Tensor:
    out = torch.zeros(len(rows), width, dtype=torch.long)
    for b, row in enumerate(rows):
        out[b, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out.to(device)


@torch.no_grad()
def truth_probabilities(model: nn.Module, prompts: Sequence[Prompt], device: torch.device) -> list[float]:
    """p(true value | prompt) for each prompt: its value tokens' teacher-forced probabilities, multiplied."""
    rows = [p.tokens + p.truth for p in prompts]
    tokens = _padded(rows, max(map(len, rows)), device)
    logp = torch.log_softmax(model(tokens[:, :-1]).float(), dim=-1)
    out = []
    for b, p in enumerate(prompts):
        positions = torch.arange(len(p.tokens) - 1, len(rows[b]) - 1, device=device)
        targets = tokens[b, len(p.tokens) :]
        out.append(float(logp[b, positions, targets[: len(p.truth)]].sum().exp()))
    return out


@torch.no_grad()
def greedy_answers(
    model: nn.Module, prompts: Sequence[Prompt], values: ValueVocabulary, device: torch.device
) -> list[Decoded]:
    """The greedy answer to every prompt (one batch: the caller splits large sets)."""
    if not prompts:
        return []
    limits = [values.of(p.attribute).longest for p in prompts]
    max_len = getattr(getattr(model, "config", None), "max_seq_len", None)
    width = max(len(p.tokens) + n for p, n in zip(prompts, limits, strict=True))
    if max_len is not None and width > max_len:
        raise ValueError(f"a prompt and its answer need {width} positions, the model has {max_len}")
    tokens = _padded([p.tokens for p in prompts], width, device)
    lengths = torch.tensor([len(p.tokens) for p in prompts], device=device)
    answers: list[list[int]] = [[] for _ in prompts]
    logps = [0.0 for _ in prompts]
    open_rows = list(range(len(prompts)))
    while open_rows:
        rows = torch.tensor(open_rows, device=device)
        logp = _last_logits(model, tokens[rows], lengths[rows])
        best, choice = logp.max(dim=-1)
        still = []
        for i, b in enumerate(open_rows):
            token, prompt = int(choice[i]), prompts[b]
            table = values.of(prompt.attribute)
            grown = (*answers[b], token)
            if token in SPECIAL or (token == prompt.stop and not table.starts_a_value(grown)):
                continue
            answers[b].append(token)
            logps[b] += float(best[i])
            tokens[b, lengths[b]] = token
            lengths[b] += 1
            if table.index(grown) is None and len(grown) < limits[b]:
                still.append(b)
        open_rows = still
    p_truth = truth_probabilities(model, prompts, device)
    return [Decoded(tuple(a), math.exp(lp), pt) for a, lp, pt in zip(answers, logps, p_truth, strict=True)]
