"""Hawk: the recurrent temporal-mixing block of Griffin (De et al. 2024), an alternative to attention.

The paper's sequence-mixer ablation (Zucchet et al. 2025, App. C.1, Fig. C) swaps every attention block for
a Hawk block and keeps the rest (residual stream, norms, MLP). The block has two branches of width
``d_rnn`` fed by the (normed) residual stream ``u``:

    gate = GeLU(W_g u)                                   (gate branch)
    x    = CausalDepthwiseConv1d_4(W_x u)                (recurrent branch, temporal width 4)
    r_t  = σ(W_a x_t + b_a)                              (recurrence gate)
    i_t  = σ(W_i x_t + b_i)                              (input gate)
    a_t  = a^(c·r_t),  a = σ(Λ),  c = 8                  (so log a_t = -c · r_t · softplus(-Λ))
    h_t  = a_t ⊙ h_{t-1} + sqrt(1 - a_t²) ⊙ (i_t ⊙ x_t),  h_{-1} = 0
    out  = W_o (gate ⊙ h)

As in Griffin's reference code (google-deepmind/recurrentgemma): ``W_a`` and ``W_i`` are block-diagonal
with one block per head, ``Λ`` is initialised so that ``a`` lies in [0.9, 0.999] (``a²`` uniform), the
normalisation ``sqrt(1 - a_t²)`` is not applied at the first position (the state starts there; there is
nothing to keep its variance from) and its derivative is bounded so that ``a_t → 1`` cannot produce
infinite gradients.

Two implementations of the recurrence compute the same function (a test proves it):
- :func:`linear_scan`, a parallel Hillis–Steele scan over ``(a_t, b_t)`` pairs (``log2 T`` elementwise
  steps, only products of ``a ≤ 1``, so no overflow, unlike a cumulative-sum-of-logs formulation);
- :meth:`HawkMixer.step`, one token at a time with an explicit state (convolution buffer, ``h``), which is
  what :meth:`HawkMixer.forward_reference` loops over.

Padding: biographies are right-padded, so pads come after every real token; a causal recurrence (and a
causal convolution) never carries a pad into a real position, exactly as causal attention does not.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from factdyn.checks import require

C_GATE = 8.0
"""Griffin's constant c in a_t = a^(c r_t)."""

MIN_RAD, MAX_RAD = 0.9, 0.999
"""Range of a = σ(Λ) at initialisation (Griffin)."""

_MAX_SQRT_GRADIENT = 1000.0


class _BoundedSqrt(torch.autograd.Function):
    """sqrt(x) whose derivative is clipped at ``_MAX_SQRT_GRADIENT`` (finite gradient at x → 0)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return torch.sqrt(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad / torch.sqrt(torch.clamp(4.0 * x, min=1.0 / _MAX_SQRT_GRADIENT**2))


def linear_scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All states of h_t = a_t ⊙ h_{t-1} + b_t with h_{-1} = 0, for (B, T, D) inputs, in parallel.

    Hillis–Steele inclusive scan with the associative operator (a1, b1) then (a2, b2) = (a1 a2, a2 b1 + b2):
    after the step with offset k, position t holds the composition of positions t-2k+1..t.
    """
    T = a.shape[1]
    k = 1
    while k < T:
        b = torch.cat([b[:, :k], b[:, k:] + a[:, k:] * b[:, :-k]], dim=1)
        a = torch.cat([a[:, :k], a[:, k:] * a[:, :-k]], dim=1)
        k *= 2
    return b


class BlockDiagonalLinear(nn.Module):
    """``y = x W + b`` with W block-diagonal (``n_blocks`` square blocks), as Griffin's RG-LRU gates.

    Args:
        width: input and output width (a multiple of ``n_blocks``).
        n_blocks: number of diagonal blocks (one per head).
    """

    def __init__(self, width: int, n_blocks: int) -> None:
        super().__init__()
        self.n_blocks = n_blocks
        block = width // n_blocks
        self.weight = nn.Parameter(torch.empty(n_blocks, block, block))
        self.bias = nn.Parameter(torch.zeros(n_blocks, block))
        nn.init.normal_(self.weight, mean=0.0, std=math.sqrt(1.0 / block))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xb = x.unflatten(-1, (self.n_blocks, -1))
        y = torch.einsum("...hi,hij->...hj", xb, self.weight.to(x.dtype)) + self.bias.to(x.dtype)
        return y.flatten(-2)


class HawkMixer(nn.Module):
    """Griffin's recurrent block (RG-LRU with a short causal convolution) as a sequence mixer.

    ``forward`` uses the parallel scan (training); ``step`` and ``forward_reference`` run token by token.

    Args:
        d_model: width of the residual stream.
        d_rnn: width of the recurrence (Griffin: about 4/3 d_model, which matches attention's 4 d² params).
        n_head: blocks of the block-diagonal gates (a divisor of ``d_rnn``).
        conv_width: temporal width of the causal depthwise convolution (Griffin: 4).
        dropout: dropout on the block output (as attention's residual dropout).
    """

    def __init__(self, d_model: int, d_rnn: int, n_head: int, conv_width: int = 4, dropout: float = 0.0):
        super().__init__()
        require(
            d_rnn % n_head == 0, "model.config.d_rnn", f"a multiple of model.config.n_head = {n_head}", d_rnn
        )
        self.d_rnn = d_rnn
        self.conv_width = conv_width
        self.gate_proj = nn.Linear(d_model, d_rnn, bias=False)
        self.x_proj = nn.Linear(d_model, d_rnn, bias=False)
        # Depthwise causal convolution: conv_weight[j] multiplies the input j - (conv_width - 1) steps back.
        self.conv_weight = nn.Parameter(torch.empty(conv_width, d_rnn))
        self.conv_bias = nn.Parameter(torch.zeros(d_rnn))
        nn.init.normal_(self.conv_weight, mean=0.0, std=math.sqrt(0.01 / conv_width))
        self.recurrence_gate = BlockDiagonalLinear(d_rnn, n_head)
        self.input_gate = BlockDiagonalLinear(d_rnn, n_head)
        self.a_logit = nn.Parameter(torch.empty(d_rnn))  # Λ, a = σ(Λ)
        with torch.no_grad():
            a = torch.sqrt(torch.empty(d_rnn).uniform_(MIN_RAD**2, MAX_RAD**2))
            self.a_logit.copy_(torch.log(a) - torch.log1p(-a))
        self.c_proj = nn.Linear(d_rnn, d_model, bias=False)  # named like attention's: same scaled init
        self.resid_dropout = nn.Dropout(dropout)

    # --- the pieces, shared by the parallel and the step-by-step paths ------------------------------
    def _conv(self, x: torch.Tensor) -> torch.Tensor:
        """Causal depthwise convolution over (B, T, D)."""
        T = x.shape[1]
        padded = F.pad(x, (0, 0, self.conv_width - 1, 0))
        out = self.conv_bias.to(x.dtype)
        for j in range(self.conv_width):
            out = out + padded[:, j : j + T] * self.conv_weight[j].to(x.dtype)
        return out

    def _gated_inputs(self, x: torch.Tensor, first: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a_t, b_t) of h_t = a_t h_{t-1} + b_t, in float32 or wider; ``first``: positions with no past."""
        # The recurrence multiplies up to T gates: keep it out of bf16 even under autocast.
        x = x.to(torch.promote_types(x.dtype, torch.float32))
        r = torch.sigmoid(self.recurrence_gate(x))
        i = torch.sigmoid(self.input_gate(x))
        log_a = -C_GATE * r * F.softplus(-self.a_logit.to(x.dtype))  # log σ(Λ) = -softplus(-Λ)
        a = torch.exp(log_a)
        norm = _BoundedSqrt.apply(-torch.expm1(2 * log_a))  # sqrt(1 - a_t²), accurate near a_t = 1
        norm = torch.where(first, torch.ones_like(norm), norm)
        return a, norm * (i * x)

    def _output(self, h: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        return self.resid_dropout(self.c_proj(gate * h.to(gate.dtype)))

    # --- parallel path -------------------------------------------------------------------------------
    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, T, d_model), all positions at once (parallel scan)."""
        gate = F.gelu(self.gate_proj(u))
        x = self._conv(self.x_proj(u))
        first = torch.zeros(1, x.shape[1], 1, dtype=torch.bool, device=x.device)
        first[:, 0] = True
        a, b = self._gated_inputs(x, first)
        return self._output(linear_scan(a, b), gate)

    # --- step-by-step reference ----------------------------------------------------------------------
    def init_state(self, batch_size: int, device: torch.device | None = None) -> dict[str, torch.Tensor]:
        """Empty state: the last ``conv_width - 1`` convolution inputs, the hidden state, the step."""
        return {
            "conv": torch.zeros(batch_size, self.conv_width - 1, self.d_rnn, device=device),
            "h": torch.zeros(batch_size, self.d_rnn, device=device),
            "t": torch.zeros((), dtype=torch.long),
        }

    def step(
        self, u_t: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One token: (B, d_model) and the state -> (B, d_model) and the next state."""
        gate = F.gelu(self.gate_proj(u_t))
        x_in = self.x_proj(u_t)
        window = torch.cat([state["conv"].to(x_in.dtype), x_in[:, None]], dim=1)  # (B, conv_width, D)
        x = (window * self.conv_weight.to(x_in.dtype)).sum(1) + self.conv_bias.to(x_in.dtype)
        first = torch.full((1, 1), bool(state["t"] == 0), device=x.device)
        a, b = self._gated_inputs(x, first)
        h = a * state["h"] + b
        return self._output(h, gate), {"conv": window[:, 1:], "h": h, "t": state["t"] + 1}

    def forward_reference(self, u: torch.Tensor) -> torch.Tensor:
        """Same as ``forward``, computed by an explicit loop over time with :meth:`step`."""
        state = self.init_state(u.shape[0], u.device)
        outputs = []
        for t in range(u.shape[1]):
            y, state = self.step(u[:, t], state)
            outputs.append(y)
        return torch.stack(outputs, dim=1)


def default_d_rnn(d_model: int, n_head: int) -> int:
    """About 4/3 d_model, rounded to a multiple of ``n_head`` (Griffin's Hawk width)."""
    return n_head * max(1, round(4 * d_model / (3 * n_head)))
