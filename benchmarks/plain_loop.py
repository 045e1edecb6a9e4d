"""The hand-written training step that the benchmarks compare `factdyn fit` against."""

from __future__ import annotations

import contextlib

import torch


def plain_step(
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    tokens: torch.Tensor,
    autocast: contextlib.AbstractContextManager,
) -> torch.Tensor:
    """One step: next-token loss over non-pad targets, backward, AdamW step (what FactLearner trains)."""
    with autocast:
        logits = net(tokens[:, :-1])
    targets = tokens[:, 1:]
    loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=0)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss
