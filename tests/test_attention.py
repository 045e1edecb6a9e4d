"""Attention statistics equal hand-computed values on a hand-made sequence."""

from __future__ import annotations

import math

import pytest
import torch

from factdyn.interp.attention_statistics import attention_statistics, token_roles, uniform_patterns

# One hand-made biography of two sentences, in model-input coordinates (T = 15):
#   0 <bos> | 1 2 3 name | 4 5 text | 6 value | 7 text | 8 9 name | 10 text | 11 12 value
#   | 13 <eos> | 14 <pad>
TOKENS = torch.tensor([[1, 10, 11, 12, 20, 21, 30, 22, 10, 12, 23, 31, 32, 2, 0]])
SPANS = {
    "name_start": torch.tensor([[1, 8]]),
    "name_len": torch.tensor([[3, 2]]),
    "value_start": torch.tensor([[6, 11]]),
    "value_len": torch.tensor([[1, 2]]),
}
T = TOKENS.shape[1]
# Queries and key sets written out by hand from the layout above.
NAME_QUERIES = {3: [1, 2], 9: [1, 2, 3, 8]}  # last name token -> the other name tokens of its prefix
ATTR_QUERIES = {5: ([1, 2, 3], [4, 5]), 10: ([1, 2, 3, 8, 9], [4, 5, 7, 10])}  # -> (name keys, text keys)
ENTROPY_ROWS = list(range(1, 14))  # every non-pad query with t >= 2 (row 0 has t = 1; row 14 is <pad>)


def test_roles_follow_the_spans() -> None:
    roles = token_roles(TOKENS, **SPANS)
    assert roles["name"][0].nonzero().flatten().tolist() == [1, 2, 3, 8, 9]
    assert roles["value"][0].nonzero().flatten().tolist() == [6, 11, 12]
    assert roles["text"][0].nonzero().flatten().tolist() == [4, 5, 7, 10]


def test_uniform_attention_by_hand() -> None:
    stats = attention_statistics(uniform_patterns(1, T, n_layer=2, n_head=2), TOKENS, **SPANS)
    # Uniform causal attention: the share of a key set is its size over the t = query + 1 attendable tokens.
    assert stats["name_to_name"].tolist() == pytest.approx([(2 / 4 + 4 / 10) / 2] * 2)
    assert stats["attr_to_name"].tolist() == pytest.approx([(3 / 6 + 5 / 11) / 2] * 2)
    assert stats["attr_to_text"].tolist() == pytest.approx([(2 / 6 + 4 / 11) / 2] * 2)
    assert stats["entropy"].tolist() == pytest.approx([1.0, 1.0])


def test_one_hot_rows_and_pad_rows() -> None:
    pattern = uniform_patterns(1, T, n_layer=1, n_head=1)[0].clone()
    pattern[0, 0, 3] = torch.eye(T)[1]  # last name token looks only at the first name token
    pattern[0, 0, 14] = torch.eye(T)[0]  # a <pad> row with entropy 0 must not count
    stats = attention_statistics([pattern], TOKENS, **SPANS)
    assert stats["name_to_name"].item() == pytest.approx((1.0 + 4 / 10) / 2)
    rows = len(ENTROPY_ROWS)
    assert stats["entropy"].item() == pytest.approx((rows - 1) / rows)  # row 3 is one-hot: entropy 0


def test_random_patterns_match_explicit_loops() -> None:
    torch.manual_seed(0)
    causal = torch.ones(T, T).tril().bool()
    patterns = []
    for _ in range(3):
        scores = torch.randn(1, 4, T, T).masked_fill(~causal, float("-inf"))
        patterns.append(torch.softmax(scores * 3, dim=-1))
    stats = attention_statistics(patterns, TOKENS, **SPANS)
    for layer, p in enumerate(patterns):
        a = p[0].double()  # (H, T, T)
        n2n = [a[:, q, keys].sum(-1).mean() for q, keys in NAME_QUERIES.items()]
        a2n = [a[:, q, names].sum(-1).mean() for q, (names, _) in ATTR_QUERIES.items()]
        a2t = [a[:, q, text].sum(-1).mean() for q, (_, text) in ATTR_QUERIES.items()]
        ent = []
        for q in ENTROPY_ROWS:
            row = a[:, q, : q + 1]
            ent.append((-(row * row.log()).sum(-1) / math.log(q + 1)).mean())
        assert stats["name_to_name"][layer].item() == pytest.approx(torch.stack(n2n).mean().item())
        assert stats["attr_to_name"][layer].item() == pytest.approx(torch.stack(a2n).mean().item())
        assert stats["attr_to_text"][layer].item() == pytest.approx(torch.stack(a2t).mean().item())
        assert stats["entropy"][layer].item() == pytest.approx(torch.stack(ent).mean().item())


def test_batches_pool_per_occurrence() -> None:
    """A batch of two copies pools to the same means as one copy (equal weight per occurrence)."""
    tokens = TOKENS.repeat(2, 1)
    spans = {k: v.repeat(2, 1) for k, v in SPANS.items()}
    one = attention_statistics(uniform_patterns(1, T), TOKENS, **SPANS)
    two = attention_statistics(uniform_patterns(2, T), tokens, **spans)
    for metric in one:
        assert two[metric].item() == pytest.approx(one[metric].item())


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="does not match tokens"):
        attention_statistics(uniform_patterns(1, T - 1), TOKENS, **SPANS)
