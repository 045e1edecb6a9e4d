"""The Transformer: config validation, parameter counts, fused vs explicit attention, hook points.

Position choices of their own (relative scores, parameters, checkpoints, runs) are in test_positions.py."""

from __future__ import annotations

import pytest
import torch

from factdyn.model import (
    POSITIONS,
    Transformer,
    TransformerConfig,
    hook_points,
    hooks,
    pattern_hook_names,
    run_with_patterns,
)


def tiny(attention: str = "fused", positions: str = "learned") -> Transformer:
    torch.manual_seed(0)
    config = TransformerConfig(
        vocab_size=50,
        max_seq_len=16,
        n_layer=2,
        n_head=2,
        d_model=16,
        d_mlp=32,
        attention=attention,
        positions=positions,
    )
    return Transformer(config)


def test_paper_size_matches_the_paper() -> None:
    model = Transformer(TransformerConfig(vocab_size=4016, max_seq_len=128))
    # 8 layers x (4 d^2 attention + 2 d x 2048 MLP) + norms: the paper's ~44M counts embeddings of a 32k
    # vocabulary; with our 4k closed vocabulary the non-embedding part is the comparable number.
    assert model.get_num_params(non_embedding=True) == 8 * (4 * 512 * 512 + 2 * 512 * 2048 + 2 * 512) + 512
    assert model.config.d_head == 64


@pytest.mark.parametrize("positions", POSITIONS)
def test_both_attention_paths_give_same_outputs_and_gradients(positions: str) -> None:
    fused, explicit = tiny("fused", positions), tiny("explicit", positions)
    explicit.load_state_dict(fused.state_dict())
    idx = torch.randint(0, 50, (3, 12))
    out_f, out_e = fused(idx), explicit(idx)
    torch.testing.assert_close(out_f, out_e, rtol=1e-5, atol=1e-5)
    out_f.square().mean().backward()
    out_e.square().mean().backward()
    for (name, p_f), (_, p_e) in zip(fused.named_parameters(), explicit.named_parameters(), strict=True):
        torch.testing.assert_close(p_f.grad, p_e.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_patterns_are_causal_distributions_and_hooks_are_removed() -> None:
    model = tiny()
    idx = torch.randint(0, 50, (2, 10))
    logits, patterns = run_with_patterns(model, idx)
    assert len(patterns) == 2 and patterns[0].shape == (2, 2, 10, 10)
    for p in patterns:
        torch.testing.assert_close(p.sum(-1), torch.ones(2, 2, 10))
        assert (p.triu(1) == 0).all()
    torch.testing.assert_close(logits, model(idx))
    assert not any(point.has_hooks() for point in hook_points(model).values())


def test_replacing_a_pattern_changes_the_output_and_hooks_clean_up_on_error() -> None:
    model = tiny()
    idx = torch.randint(0, 50, (2, 10))
    base = model(idx)
    uniform = torch.tril(torch.ones(10, 10)) / torch.arange(1, 11).unsqueeze(1)
    name = pattern_hook_names(model)[0]
    with hooks(model, {name: lambda p, hook: uniform.expand_as(p)}):
        patched = model(idx)
    assert not torch.allclose(base, patched)
    with pytest.raises(RuntimeError, match="boom"), hooks(model, {name: lambda p, hook: None}):
        raise RuntimeError("boom")
    assert not any(point.has_hooks() for point in hook_points(model).values())
    with pytest.raises(KeyError, match="unknown hook points"), hooks(model, {"nope": lambda p, hook: None}):
        pass


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_head": 3}, "model.config.n_head: a divisor of model.config.d_model = 16, got 3"),
        ({"n_layer": 0}, "model.config.n_layer: an integer >= 1, got 0"),
        ({"dropout": 1.5}, r"model.config.dropout: a number in \[0, 1\), got 1.5"),
        ({"attention": "flash"}, "model.config.attention: one of 'fused', 'explicit', got 'flash'"),
        (
            {"positions": "alibi"},
            "model.config.positions: one of 'learned', 'rotary', 'none', got 'alibi'",
        ),
        (
            {"positions": "rotary", "d_model": 15, "n_head": 5},
            r"model.config.positions: 'learned' or 'none' with an odd head size d_model / n_head = 3 .*"
            "got 'rotary'",
        ),
        (
            {"positions": "rotary", "sequence_mixer": "hawk"},
            "model.config.positions: 'learned' or 'none' with model.config.sequence_mixer 'hawk'"
            ".*got 'rotary'",
        ),
    ],
)
def test_bad_model_config_names_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        TransformerConfig(**{"vocab_size": 50, "max_seq_len": 16, "d_model": 16, **kwargs})
    assert "\n" not in str(err.value)
