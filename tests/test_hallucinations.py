"""Hallucination metrics and the HallucinationExamples callback."""

from __future__ import annotations

import json
import math

import torch

from factdyn.callbacks.hallucination_examples import completions, confidence_markdown
from factdyn.data.tokenizer import WordTokenizer
from factdyn.training.metrics import value_token_confidence


def test_confidence_on_uniform_and_peaked_logits() -> None:
    vocab = 8
    logits = torch.zeros(1, 3, vocab)
    logits[0, 2, 5] = math.log(7.0)  # p = 7/14 on token 5, 1/14 elsewhere
    slot = torch.tensor([[-1, 0, 0]])
    max_prob, entropy = value_token_confidence(logits, slot)
    p = torch.tensor([7 / 14] + [1 / 14] * 7)
    torch.testing.assert_close(max_prob, torch.tensor([1 / vocab, 0.5]))
    torch.testing.assert_close(entropy, torch.stack([torch.tensor(math.log(vocab)), -(p * p.log()).sum()]))


def test_teacher_forced_completions_read_the_logit_before_each_value_token() -> None:
    tok = WordTokenizer(["Ann", "Lee", "lives", "in", "Paris", "Rome", "New", "York"])
    ids = {w: tok.stoi[w] for w in tok.itos}
    tokens = torch.tensor([[1, ids["Ann"], ids["Lee"], ids["lives"], ids["in"], ids["New"], ids["York"], 2]])
    logits = torch.zeros(1, tokens.shape[1] - 1, tok.vocab_size)
    logits[0, 4, ids["New"]] = 5.0  # position 4 predicts token 5: right
    logits[0, 5, ids["Rome"]] = 5.0  # position 5 predicts token 6: wrong
    batch = {
        "tokens": tokens,
        "value_start": torch.tensor([[5]]),
        "value_len": torch.tensor([[2]]),
        "value_attr": torch.tensor([[1]]),
        "name_start": torch.tensor([[1]]),
        "name_len": torch.tensor([[2]]),
    }
    (row,) = completions(logits, batch, tok, ["a", "current_location"])
    assert row["name"] == "Ann Lee" and row["attribute"] == "current_location"
    assert row["truth"] == "New York" and row["guess"] == "New Rome" and not row["correct"]
    p = torch.softmax(logits[0], -1)
    assert math.isclose(row["p_truth"], float(p[4, ids["New"]] * p[5, ids["York"]]), rel_tol=1e-5)


def test_seen_vs_unseen_row() -> None:
    metrics = {
        f"{s}/{m}": torch.tensor(v)
        for s, v in (("val", 0.5), ("unseen", 9.0))
        for m in ("attr_loss", "attr_acc", "max_prob", "entropy")
    }
    metrics["baseline/attr_loss"] = torch.tensor(6.0)
    metrics["unseen/hallucination_gap"] = torch.tensor(3.0)
    text = confidence_markdown(metrics)
    assert "| seen (val) | 0.5 | 0.5 | 0.5 | 0.5 |" in text and "| unseen | 9 | 9 | 9 | 9 |" in text
    assert "+3" in text


def test_tiny_run_writes_examples_and_hallucination_gap(run_tiny) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cli, run_dir = run_tiny("--hallucination_examples.n_individuals", "2")
    (events,) = run_dir.glob("events.out.tfevents.*")
    acc = EventAccumulator(str(events), size_guidance={"tensors": 0})
    acc.Reload()
    texts = acc.Tensors("hallucinations/examples/text_summary")
    assert [t.step for t in texts] == [4, 8]
    table = texts[-1].tensor_proto.string_val[0].decode()
    assert table.count("\n| ") >= 2 * 6 + 2  # 2 biographies x 6 values + seen/unseen rows
    final = json.loads((run_dir / "summary.json").read_text())["final"]
    assert math.isclose(
        final["unseen/hallucination_gap"],
        final["unseen/attr_loss"] - final["baseline/attr_loss"],
        rel_tol=1e-5,
    )
