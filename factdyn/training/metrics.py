"""Attribute metrics (Zucchet et al. 2025, §1.3 / App. B.3) as pure tensor functions plus a torchmetrics
accumulator.

- Attribute loss: the cross-entropy summed over all tokens of an attribute value (the NLL of the whole
  value), averaged over values. Not normalised by the value's token count, so it compares directly to the
  no-knowledge baseline, mean over the six types of log(number of possible values).
- Attribute accuracy: a value counts as correct only if every one of its tokens is the argmax prediction
  (teacher-forced).
- Confidence on value tokens: mean max probability and mean predictive entropy (nats).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torchmetrics import Metric


def token_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B, T) negative log-likelihood of each target token (float32 whatever the logits' dtype)."""
    return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), reduction="none").view(
        targets.shape
    )


def slot_sums(values: torch.Tensor, slot: torch.Tensor, n_slots: int) -> torch.Tensor:
    """Sum ``values`` (B, T) into (B, n_slots) by ``slot`` (B, T), where slot -1 means "no value token"."""
    inside = slot >= 0
    out = torch.zeros(values.shape[0], n_slots, dtype=values.dtype, device=values.device)
    return out.scatter_add_(1, slot.clamp(min=0), torch.where(inside, values, torch.zeros_like(values)))


def attribute_loss_and_correct(
    logits: torch.Tensor,
    targets: torch.Tensor,
    slot: torch.Tensor,
    n_slots: int,
    nll: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-value NLL (B, n_slots) and per-value all-tokens-correct flags (B, n_slots).

    ``slot`` gives, for each target position, the index of the attribute value it belongs to, or -1.
    """
    if nll is None:
        nll = token_nll(logits, targets)
    wrong = (logits.argmax(dim=-1) != targets).to(nll.dtype)
    return slot_sums(nll, slot, n_slots), slot_sums(wrong, slot, n_slots) == 0


def value_token_confidence(logits: torch.Tensor, slot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Max probability and entropy (nats) of the predictive distribution at each value token (flat)."""
    logp = F.log_softmax(logits[slot >= 0].float(), dim=-1)
    p = logp.exp()
    return p.max(dim=-1).values, -(p * logp).sum(dim=-1)


def value_results(
    value_logits: torch.Tensor, targets: torch.Tensor, slot: torch.Tensor, n_slots: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every attribute metric from the logits at value tokens only.

    ``value_logits`` (n, V) are the logits at the positions where ``slot >= 0``, in row-major order (what
    ``logits[slot >= 0]`` gives, but computed only there: evaluation needs the output head at about one
    position in five). Returns per-value NLL and all-tokens-correct flags (B, n_slots), as
    :func:`attribute_loss_and_correct`, and each value token's max probability and entropy, as
    :func:`value_token_confidence`.
    """
    at_value = slot >= 0
    truth = targets[at_value]
    logp = F.log_softmax(value_logits.float(), dim=-1)
    nll = torch.zeros(slot.shape, dtype=logp.dtype, device=logp.device)
    nll.masked_scatter_(at_value, -logp.gather(1, truth[:, None]).squeeze(1))
    wrong = torch.zeros_like(nll).masked_scatter_(at_value, (logp.argmax(dim=-1) != truth).to(logp.dtype))
    p = logp.exp()
    return (
        slot_sums(nll, slot, n_slots),
        slot_sums(wrong, slot, n_slots) == 0,
        p.max(dim=-1).values,
        -(p * logp).sum(dim=-1),
    )


class AttributeMetrics(Metric):
    """Accumulates attribute loss/accuracy per attribute type and value-token confidence over a split."""

    full_state_update = False

    def __init__(self, attributes: Sequence[str]) -> None:
        super().__init__()
        self.attributes = list(attributes)
        n = len(self.attributes)
        self.add_state("loss_sum", torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("correct_sum", torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("max_prob_sum", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("entropy_sum", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("token_count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(
        self,
        value_loss: torch.Tensor,
        value_correct: torch.Tensor,
        value_attr: torch.Tensor,
        max_prob: torch.Tensor,
        entropy: torch.Tensor,
    ) -> None:
        n = len(self.attributes)
        attr = value_attr.flatten()
        self.loss_sum += torch.bincount(attr, weights=value_loss.flatten().double(), minlength=n)
        self.correct_sum += torch.bincount(attr, weights=value_correct.flatten().double(), minlength=n)
        self.count += torch.bincount(attr, minlength=n).double()
        self.max_prob_sum += max_prob.double().sum()
        self.entropy_sum += entropy.double().sum()
        self.token_count += max_prob.numel()

    def names(self) -> list[str]:
        """The keys of :meth:`compute` (known before any update)."""
        per_attribute = [f"{m}/{a}" for m in ("attr_loss", "attr_acc") for a in self.attributes]
        return ["attr_loss", "attr_acc", "max_prob", "entropy", *per_attribute]

    def compute(self) -> dict[str, torch.Tensor]:
        count = self.count.clamp(min=1)
        out = {
            "attr_loss": self.loss_sum.sum() / count.sum(),
            "attr_acc": self.correct_sum.sum() / count.sum(),
            "max_prob": self.max_prob_sum / self.token_count.clamp(min=1),
            "entropy": self.entropy_sum / self.token_count.clamp(min=1),
        }
        for i, attr in enumerate(self.attributes):
            out[f"attr_loss/{attr}"] = self.loss_sum[i] / count[i]
            out[f"attr_acc/{attr}"] = self.correct_sum[i] / count[i]
        return {k: v.float() for k, v in out.items()}
