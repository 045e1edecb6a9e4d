"""Attribute metrics on hand-made examples."""

from __future__ import annotations

import math

import torch

from factdyn.data.population import no_knowledge_baseline
from factdyn.training.metrics import (
    AttributeMetrics,
    attribute_loss_and_correct,
    value_results,
    value_token_confidence,
)


def test_attribute_loss_sums_over_value_tokens_and_accuracy_needs_every_token() -> None:
    # One sequence, 5 target positions, vocabulary 3. Value slot 0 = positions 1-2, slot 1 = position 4.
    probs = torch.tensor(
        [
            [0.2, 0.3, 0.5],
            [0.7, 0.2, 0.1],  # target 0: correct, p = 0.7
            [0.1, 0.6, 0.3],  # target 2: wrong (argmax 1), p = 0.3
            [0.3, 0.3, 0.4],
            [0.1, 0.1, 0.8],  # target 2: correct, p = 0.8
        ]
    )
    logits = probs.log().unsqueeze(0)
    targets = torch.tensor([[1, 0, 2, 1, 2]])
    slot = torch.tensor([[-1, 0, 0, -1, 1]])
    loss, correct = attribute_loss_and_correct(logits, targets, slot, n_slots=2)
    torch.testing.assert_close(loss, torch.tensor([[-math.log(0.7) - math.log(0.3), -math.log(0.8)]]))
    assert correct.tolist() == [[False, True]]

    max_prob, entropy = value_token_confidence(logits, slot)
    torch.testing.assert_close(max_prob, torch.tensor([0.7, 0.6, 0.8]))
    expected = [
        -sum(p * math.log(p) for p in row) for row in ([0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.1, 0.1, 0.8])
    ]
    torch.testing.assert_close(entropy, torch.tensor(expected))


def test_metric_averages_over_values_per_attribute() -> None:
    metric = AttributeMetrics(["a", "b"])
    metric.update(
        value_loss=torch.tensor([[1.0, 3.0], [5.0, 7.0]]),
        value_correct=torch.tensor([[True, False], [True, True]]),
        value_attr=torch.tensor([[0, 1], [1, 0]]),
        max_prob=torch.tensor([0.5, 1.0]),
        entropy=torch.tensor([2.0, 0.0]),
    )
    out = metric.compute()
    assert out["attr_loss"].item() == 4.0
    assert out["attr_acc"].item() == 0.75
    assert out["attr_loss/a"].item() == 4.0 and out["attr_loss/b"].item() == 4.0
    assert out["attr_acc/a"].item() == 1.0 and out["attr_acc/b"].item() == 0.5
    assert out["max_prob"].item() == 0.75 and out["entropy"].item() == 1.0


def test_no_knowledge_baseline() -> None:
    assert no_knowledge_baseline([10, 1000]) == (math.log(10) + math.log(1000)) / 2


def test_metrics_from_value_positions_equal_those_from_full_logits() -> None:
    """Evaluation runs the output head at value tokens only; every metric must match the full-logits path."""
    gen = torch.Generator().manual_seed(0)
    B, T, V = 5, 12, 30
    logits = torch.randn(B, T, V, generator=gen) * 3
    targets = torch.randint(0, V, (B, T), generator=gen)
    slot = torch.full((B, T), -1)
    for b in range(B):  # six values of 1-2 tokens per row, at row-dependent positions
        for k in range(6):
            slot[b, (b + 2 * k) % T : (b + 2 * k) % T + 1 + (k % 2)] = k
    # Some values predicted right at every token, so that accuracy is not trivially all-false.
    targets[slot >= 0] = torch.where(torch.rand(B, T, generator=gen) < 0.7, logits.argmax(-1), targets)[
        slot >= 0
    ]
    loss, correct = attribute_loss_and_correct(logits, targets, slot, 6)
    max_prob, entropy = value_token_confidence(logits, slot)
    v_loss, v_correct, v_max_prob, v_entropy = value_results(logits[slot >= 0], targets, slot, 6)
    torch.testing.assert_close(v_loss, loss)
    assert torch.equal(v_correct, correct) and correct.any() and not correct.all()
    torch.testing.assert_close(v_max_prob, max_prob)
    torch.testing.assert_close(v_entropy, entropy)


def test_validation_step_matches_metrics_from_a_full_forward() -> None:
    from factdyn.data.datamodule import BiographyDataModule
    from factdyn.model import TransformerConfig
    from factdyn.training.module import FactLearner

    dm = BiographyDataModule(n_individuals=40, n_unseen=8, batch_size=4, n_val_sequences=6, eval_batch_size=6)
    dm.setup()
    torch.manual_seed(0)
    system = FactLearner(
        TransformerConfig(dm.vocab_size, dm.max_seq_len, n_layer=1, n_head=2, d_model=16, d_mlp=32),
        dm.attributes, dm.attribute_cardinalities, dm.tokenizer_fingerprint,
    )  # fmt: skip
    batch = dm.eval_batches["val"][0]
    with torch.no_grad():
        out = system.validation_step(batch, 0)
        logits = system.model(batch["tokens"][:, :-1])
    loss, correct = attribute_loss_and_correct(logits, batch["tokens"][:, 1:], batch["value_slot"][:, 1:], 6)
    torch.testing.assert_close(out["value_loss"], loss)
    assert torch.equal(out["value_correct"], correct)
