"""How the Transformer knows where a token is: ``model.config.positions`` (docs/positions.md).

- ``learned``: a learned absolute position embedding ``wpe`` added to the token embedding (nanoGPT; the
  default, and what every checkpoint written before this option holds);
- ``rotary``: rotary position embedding (RoPE, Su et al. 2021) on the queries and keys of every attention
  layer, so that a score depends on the two positions only through their difference (relative positions,
  as in the Chinchilla family the paper names);
- ``none``: no position signal at all; causal attention alone must tell positions apart (a control).

Rotary uses the *rotate-half* layout (GPT-NeoX, Llama): dimension ``i`` of a head is paired with dimension
``i + d_head / 2``, and pair ``i`` turns by ``position * base ** (-2 i / d_head)`` with base 10000. The
interleaved layout (pairs ``2i, 2i + 1``, the RoFormer paper) is the same function up to a fixed
permutation of the head's dimensions, which the learned projections absorb; rotate-half needs no strided
indexing.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import nn

Positions = Literal["learned", "rotary", "none"]
POSITIONS: tuple[str, ...] = get_args(Positions)
RotaryTables = tuple[torch.Tensor, torch.Tensor]
"""The (T, d_head) cos and sin tables of positions ``0 .. T - 1``."""
ROTARY_BASE = 10_000.0
"""RoPE's frequency base (Su et al. 2021; also GPT-NeoX and Llama)."""


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``(x1, x2) -> (-x2, x1)`` over the two halves of the last dimension: a quarter turn of every pair."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Turn every pair of ``x`` (..., T, d_head) by its position's angle; ``cos``/``sin`` are (T, d_head).

    The tables are cast to ``x``'s dtype, so under bf16 autocast queries and keys stay bf16 and the fused
    attention kernel still gets one dtype.
    """
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return x * cos + rotate_half(x) * sin


class RotaryTable(nn.Module):
    """cos and sin of every position's angles, computed once for ``max_seq_len`` positions (``d_head`` even:
    :class:`~factdyn.model.TransformerConfig` checks it).

    The tables are buffers that are not persistent: they follow the model across devices but stay out of
    the state dict, so a rotary checkpoint holds exactly the weights (and is as large as one with ``none``).
    """

    def __init__(self, d_head: int, max_seq_len: int, base: float = ROTARY_BASE) -> None:
        super().__init__()
        inv_freq = base ** (-torch.arange(0, d_head, 2, dtype=torch.float64) / d_head)
        angles = torch.outer(torch.arange(max_seq_len, dtype=torch.float64), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)  # rotate-half: pair i and i + d_head/2 share an angle
        self.register_buffer("cos", angles.cos().float(), persistent=False)
        self.register_buffer("sin", angles.sin().float(), persistent=False)

    def forward(self, length: int) -> RotaryTables:
        """The (length, d_head) tables of positions ``0 .. length - 1``, shared by every layer."""
        return self.cos[:length], self.sin[:length]
