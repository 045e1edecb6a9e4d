"""A decoder-only Transformer in the style of nanoGPT, with named hook points on attention patterns.

Architecture (choices the paper leaves open, see README): pre-norm blocks with RMSNorm, GELU MLP, untied
input/output embeddings, no biases, no dropout by default. ``positions`` (:mod:`factdyn.model.positions`):
learned absolute embeddings ``wpe`` (the default), rotary on queries and keys (relative), or none.

Two attention paths compute the same function:
- ``fused``: ``torch.nn.functional.scaled_dot_product_attention`` (fast; never materialises the pattern);
- ``explicit``: softmax(QK^T / sqrt(d_head) + causal mask) written out, with the post-softmax pattern passed
  through ``blocks.{i}.attn.hook_pattern``. A forward hook on that point can read the pattern, or return a
  tensor to replace it (attention patching).
The explicit path runs whenever the config asks for it or any hook is attached to a pattern hook point, so
recording and patching can never silently read nothing. Rotary turns q and k the same way on both paths,
before the scores, so positions reach the pattern only through the scores and a replaced pattern replaces
all of it.

``sequence_mixer: hawk`` replaces every attention block by Griffin's recurrent block
(:mod:`factdyn.model.hawk`, the paper's mixer ablation); norms, MLP, embeddings and residual structure stay
the same. A Hawk model has no attention-pattern hook points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

from factdyn.checks import require, require_choice, require_int, require_number
from factdyn.model.hawk import HawkMixer, default_d_rnn
from factdyn.model.hooks import HookPoint
from factdyn.model.positions import POSITIONS, Positions, RotaryTable, RotaryTables, apply_rotary

AttentionImpl = Literal["fused", "explicit"]
SequenceMixer = Literal["attention", "hawk"]
ATTENTION_IMPLS: tuple[str, ...] = get_args(AttentionImpl)
SEQUENCE_MIXERS: tuple[str, ...] = get_args(SequenceMixer)


@dataclass
class TransformerConfig:
    """Shape of the Transformer. Paper default: 8 layers, d_model 512, MLP 2048, 8 heads of size 64.

    ``sequence_mixer`` picks the temporal-mixing block: ``attention`` (default) or ``hawk`` (Griffin's
    RG-LRU block); ``d_rnn`` is Hawk's recurrence width (``None``: about 4/3 d_model, a multiple of
    ``n_head``, which gives the block about attention's 4 d_model² parameters). ``attention`` (fused or
    explicit softmax) only matters for attention. ``positions``: ``learned`` absolute embeddings (default),
    ``rotary`` (attention only, even head size) or ``none``.
    """

    vocab_size: int
    """Token vocabulary size (linked from the DataModule by the CLI)."""
    max_seq_len: int
    """Longest input (linked from the DataModule by the CLI): the size of the position table."""
    n_layer: int = 8
    """Transformer blocks (paper: 8)."""
    n_head: int = 8
    """Attention heads per block; must divide ``d_model`` (paper: 8)."""
    d_model: int = 512
    """Width of the residual stream (paper: 512)."""
    d_mlp: int = 2048
    """Hidden width of each MLP (paper: 2048)."""
    dropout: float = field(default=0.0, metadata={"weights": False})
    """Dropout on attention and MLP outputs, in [0, 1) (paper: none)."""
    attention: AttentionImpl = field(default="fused", metadata={"weights": False})
    """``fused`` (scaled_dot_product_attention) or ``explicit`` (the pattern passes a hook point)."""
    sequence_mixer: SequenceMixer = "attention"
    """``attention`` (the paper) or ``hawk`` (Griffin's RG-LRU block, the mixer ablation)."""
    d_rnn: int | None = None
    """Hawk's recurrence width (``None``: about 4/3 d_model, a multiple of ``n_head``)."""
    positions: Positions = "learned"
    """``learned`` (absolute embedding ``wpe``), ``rotary`` (RoPE on q and k, relative) or ``none``; a
    checkpoint without this field was written with ``learned``."""

    def __post_init__(self) -> None:
        for name in ("vocab_size", "max_seq_len", "n_layer", "n_head", "d_model", "d_mlp"):
            require_int(f"model.config.{name}", getattr(self, name), 1)
        require(
            self.d_model % self.n_head == 0,
            "model.config.n_head",
            f"a divisor of model.config.d_model = {self.d_model}",
            self.n_head,
        )
        require_number("model.config.dropout", self.dropout, 0, 1, high_open=True)
        require_choice("model.config.attention", self.attention, ATTENTION_IMPLS)
        require_choice("model.config.sequence_mixer", self.sequence_mixer, SEQUENCE_MIXERS)
        require_int("model.config.d_rnn", self.d_rnn, 1, allow_none=True)
        require(
            self.d_rnn is None or self.d_rnn % self.n_head == 0,
            "model.config.d_rnn",
            f"null or a multiple of model.config.n_head = {self.n_head}",
            self.d_rnn,
        )
        require_choice("model.config.positions", self.positions, POSITIONS)
        if self.positions == "rotary":
            # Rotary turns pairs of a head's dimensions; Hawk has no queries and keys to turn.
            require(
                self.sequence_mixer == "attention",
                "model.config.positions",
                "'learned' or 'none' with model.config.sequence_mixer 'hawk' (rotary acts on attention's "
                "queries and keys)",
                self.positions,
            )
            require(
                self.d_head % 2 == 0,
                "model.config.positions",
                f"'learned' or 'none' with an odd head size d_model / n_head = {self.d_head} (rotary turns "
                "pairs of dimensions)",
                self.positions,
            )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TransformerConfig:
        """A config from a mapping that may hold other keys too (they are ignored)."""
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every field that has a default, with it: what a checkpoint written before that field existed
        was built with (``positions: learned``, ``sequence_mixer: attention``)."""
        return {f.name: f.default for f in fields(cls) if f.default is not MISSING}

    @classmethod
    def weight_fields(cls) -> tuple[str, ...]:
        """Fields on which the weights' shapes and meaning depend: two models whose values agree can
        exchange weights or attention patterns (dropout and the attention path compute the same function)."""
        return tuple(f.name for f in fields(cls) if f.metadata.get("weights", True))

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_head

    @property
    def rnn_width(self) -> int:
        """Hawk's recurrence width: ``d_rnn``, or its default from d_model and n_head."""
        return self.d_rnn if self.d_rnn is not None else default_d_rnn(self.d_model, self.n_head)

    def to_dict(self) -> dict:
        return asdict(self)


class RMSNorm(nn.Module):
    """Root-mean-square layer norm with a learned gain (as in the Gopher/Chinchilla family)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with hook points on the attention scores and pattern."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.d_head = config.d_head
        self.dropout = config.dropout
        self.explicit = config.attention == "explicit"
        self.c_attn = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.c_proj = nn.Linear(config.d_model, config.d_model, bias=False)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.hook_attn_scores = HookPoint()  # (B, H, T, T) pre-softmax, masked with -inf
        self.hook_pattern = HookPoint()  # (B, H, T, T) post-softmax probabilities

    def uses_explicit_path(self) -> bool:
        return self.explicit or self.hook_pattern.has_hooks() or self.hook_attn_scores.has_hooks()

    def forward(self, x: torch.Tensor, rotary: RotaryTables | None = None) -> torch.Tensor:
        """``rotary``: the (T, d_head) cos and sin tables when positions are rotary, else ``None``."""
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, self.d_head).transpose(1, 2)  # (B, H, T, d_head)
        k = k.view(B, T, self.n_head, self.d_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, self.d_head).transpose(1, 2)
        if rotary is not None:
            q, k = apply_rotary(q, *rotary), apply_rotary(k, *rotary)
        if self.uses_explicit_path():
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.d_head))
            causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            scores = self.hook_attn_scores(scores.masked_fill(~causal, float("-inf")))
            pattern = self.hook_pattern(F.softmax(scores, dim=-1))
            y = self.attn_dropout(pattern) @ v
        else:
            y = F.scaled_dot_product_attention(
                q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
            )
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, config.d_mlp, bias=False)
        self.c_proj = nn.Linear(config.d_mlp, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm residual block: temporal mixing (attention as ``attn``, or Hawk as ``hawk``), then MLP."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.ln_1 = RMSNorm(config.d_model)
        # Attention keeps the name ``attn``, so checkpoints and hook-point names do not change.
        if config.sequence_mixer == "attention":
            self.attn = CausalSelfAttention(config)
        else:
            self.hawk = HawkMixer(config.d_model, config.rnn_width, config.n_head, dropout=config.dropout)
        self.ln_2 = RMSNorm(config.d_model)
        self.mlp = MLP(config)

    @property
    def mixer(self) -> nn.Module:
        return self.attn if hasattr(self, "attn") else self.hawk

    def forward(self, x: torch.Tensor, rotary: RotaryTables | None = None) -> torch.Tensor:
        """``rotary``: attention's cos/sin tables (``None`` unless positions are rotary; never for Hawk)."""
        h = self.ln_1(x)
        x = x + (self.attn(h, rotary) if hasattr(self, "attn") else self.hawk(h))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """Decoder-only language model. ``forward(idx)`` maps token ids (B, T) to next-token logits (B, T, V)."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        # Only ``learned`` has ``wpe``; the modules keep their order, so a learned model's initial weights
        # for a given seed are those it had before positions became a choice.
        embeddings = dict(wte=nn.Embedding(config.vocab_size, config.d_model))
        if config.positions == "learned":
            embeddings["wpe"] = nn.Embedding(config.max_seq_len, config.d_model)
        self.transformer = nn.ModuleDict(
            dict(
                **embeddings,
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=RMSNorm(config.d_model),
            )
        )
        # One table for every layer; not in the state dict (non-persistent buffers).
        self.rotary = RotaryTable(config.d_head, config.max_seq_len) if config.positions == "rotary" else None
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        # GPT-2 scaled init of the residual projections keeps the residual stream's variance flat in depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    @property
    def blocks(self) -> nn.ModuleList:
        return self.transformer.h

    def get_num_params(self, non_embedding: bool = True) -> int:
        """Parameter count; ``non_embedding`` leaves out token/position embeddings and the output head."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wte.weight.numel() + self.lm_head.weight.numel()
            if "wpe" in self.transformer:
                n -= self.transformer.wpe.weight.numel()
        return n

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.hidden(idx))

    def hidden(self, idx: torch.Tensor) -> torch.Tensor:
        """Final normalised hidden states (B, T, d_model): ``lm_head`` of a subset gives those logits only."""
        B, T = idx.shape
        if T > self.config.max_seq_len:
            raise ValueError(f"sequence length {T} exceeds model.max_seq_len={self.config.max_seq_len}")
        x = self.transformer.wte(idx)
        if "wpe" in self.transformer:
            x = x + self.transformer.wpe(torch.arange(T, dtype=torch.long, device=idx.device))
        x = self.transformer.drop(x)
        rotary = self.rotary(T) if self.rotary is not None else None  # sliced once, shared by every layer
        for block in self.transformer.h:
            x = block(x, rotary)
        return self.transformer.ln_f(x)

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        """AdamW parameter groups: weight decay on matrices only (not on norms' gains)."""
        decay = [p for p in self.parameters() if p.requires_grad and p.dim() >= 2]
        no_decay = [p for p in self.parameters() if p.requires_grad and p.dim() < 2]
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
