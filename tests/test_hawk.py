"""Hawk (Griffin's RG-LRU block): parallel scan vs step-by-step reference, causality, init, integration."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from factdyn.interp.patching import Reference, check_compatible
from factdyn.model import HawkMixer, Transformer, TransformerConfig, linear_scan, pattern_hook_names
from factdyn.model.hawk import MAX_RAD, MIN_RAD, default_d_rnn

PATCHING_NEEDS_ATTENTION = (
    r"model.config.sequence_mixer: 'attention' "
    r"\(AttentionPatching reads attention patterns[^)]*\), got 'hawk'"
)


def hawk_config(**overrides) -> TransformerConfig:
    base = dict(
        vocab_size=50, max_seq_len=40, n_layer=2, n_head=2, d_model=16, d_mlp=32, sequence_mixer="hawk"
    )
    return TransformerConfig(**{**base, **overrides})


@pytest.mark.parametrize("T", [1, 2, 7, 16, 33])
def test_linear_scan_equals_the_sequential_recurrence(T: int) -> None:
    torch.manual_seed(T)
    a, b = torch.rand(3, T, 5, dtype=torch.float64), torch.randn(3, T, 5, dtype=torch.float64)
    h, expected = torch.zeros(3, 5, dtype=torch.float64), []
    for t in range(T):
        h = a[:, t] * h + b[:, t]
        expected.append(h)
    torch.testing.assert_close(linear_scan(a, b), torch.stack(expected, dim=1))


def test_scan_has_no_overflow_on_long_sequences_with_fast_decay() -> None:
    # A cumulative sum of log a_t would need exp(+400) here; products of a_t <= 1 stay finite.
    a = torch.full((1, 512, 4), 0.45)
    b = torch.ones(1, 512, 4)
    out = linear_scan(a, b)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0, -1], torch.full((4,), 1 / (1 - 0.45)))


def test_parallel_forward_equals_step_by_step_reference_values_and_gradients() -> None:
    torch.manual_seed(0)
    mixer = HawkMixer(d_model=12, d_rnn=16, n_head=4).double()
    with torch.no_grad():  # non-zero conv bias and gate biases so every term is exercised
        mixer.conv_bias.normal_()
        mixer.recurrence_gate.bias.normal_()
        mixer.input_gate.bias.normal_()
    u = torch.randn(3, 21, 12, dtype=torch.float64, requires_grad=True)
    parallel = mixer(u)
    reference = mixer.forward_reference(u)
    torch.testing.assert_close(parallel, reference, rtol=1e-10, atol=1e-12)
    weights = torch.randn_like(parallel)
    grads_p = torch.autograd.grad((parallel * weights).sum(), [u, *mixer.parameters()])
    grads_r = torch.autograd.grad((reference * weights).sum(), [u, *mixer.parameters()])
    names = ["input", *(name for name, _ in mixer.named_parameters())]
    for name, gp, gr in zip(names, grads_p, grads_r, strict=True):
        torch.testing.assert_close(gp, gr, rtol=1e-8, atol=1e-10, msg=name)


def test_step_state_continues_a_sequence() -> None:
    # Feeding a prefix, then the rest from the carried state, equals one pass over the whole sequence.
    torch.manual_seed(1)
    mixer = HawkMixer(d_model=8, d_rnn=8, n_head=2).double()
    u = torch.randn(2, 9, 8, dtype=torch.float64)
    state = mixer.init_state(2)
    outs = []
    for t in range(9):
        y, state = mixer.step(u[:, t], state)
        outs.append(y)
    torch.testing.assert_close(torch.stack(outs, 1), mixer(u))
    assert state["conv"].shape == (2, 3, 8) and int(state["t"]) == 9


def test_hawk_is_causal_so_right_padding_never_reaches_real_tokens() -> None:
    torch.manual_seed(2)
    model = Transformer(hawk_config())
    idx = torch.randint(3, 50, (2, 20))
    padded = idx.clone()
    padded[:, 12:] = 0  # right padding after 12 real tokens
    torch.testing.assert_close(model(idx)[:, :12], model(padded)[:, :12])


def test_initial_decay_lies_in_griffins_range_and_gradients_stay_finite_near_one() -> None:
    mixer = HawkMixer(d_model=16, d_rnn=2048, n_head=4)
    a = torch.sigmoid(mixer.a_logit)
    assert a.min() >= MIN_RAD - 1e-6 and a.max() <= MAX_RAD + 1e-6
    assert a.std() > 0.01  # spread over the ring, not a constant
    with torch.no_grad():
        mixer.a_logit.fill_(30.0)  # a = σ(30) ≈ 1 - 1e-13: sqrt(1 - a_t²) ≈ 0, its derivative unbounded
    u = torch.randn(2, 6, 16, requires_grad=True)
    mixer(u).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in mixer.parameters())


def test_transformer_with_hawk_has_no_attention_and_a_griffin_sized_block() -> None:
    model = Transformer(hawk_config(d_model=48, n_head=4))
    assert pattern_hook_names(model) == []
    assert not any("attn" in name for name, _ in model.named_parameters())
    d, r, H = 48, default_d_rnn(48, 4), 4
    assert r == 64 and r % H == 0
    # in-projections 2 d r, out d r, conv 4 r + r, gates 2 (r²/H + r), Λ r
    block = 3 * d * r + 5 * r + 2 * (r * r // H + r) + r
    mlp_and_norms = 2 * d * 32 + 2 * d
    assert model.get_num_params() == 2 * (block + mlp_and_norms) + d


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sequence_mixer": "mamba"}, "model.config.sequence_mixer: one of 'attention', 'hawk', got 'mamba'"),
        ({"d_rnn": 15}, "model.config.d_rnn: null or a multiple of model.config.n_head = 2, got 15"),
        ({"d_rnn": 0}, r"model.config.d_rnn: an integer >= 1 or null, got 0"),
    ],
)
def test_bad_mixer_settings_name_the_field(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hawk_config(**overrides)


def test_attention_patching_refuses_a_hawk_model_or_reference() -> None:
    attention = Transformer(hawk_config(sequence_mixer="attention"))
    hawk = Transformer(hawk_config())
    reference = Reference(model=attention, path=Path("ref.ckpt"), step=0, tokenizer_fingerprint="abc")
    with pytest.raises(ValueError, match=PATCHING_NEEDS_ATTENTION):
        check_compatible(reference, hawk, "abc")
    hawk_reference = Reference(model=hawk, path=Path("ref.ckpt"), step=0, tokenizer_fingerprint="abc")
    with pytest.raises(ValueError, match="sequence_mixer: reference 'hawk' != model 'attention'"):
        check_compatible(hawk_reference, attention, "abc")


def test_tiny_hawk_run_trains_checkpoints_and_reloads(run_tiny) -> None:
    from factdyn.training.module import FactLearner

    cli, run_dir = run_tiny("--model.config.sequence_mixer", "hawk")
    assert cli.model.config.sequence_mixer == "hawk"
    assert all(torch.isfinite(p).all() for p in cli.model.parameters())
    ckpt = sorted((run_dir / "checkpoints").glob("*.ckpt"))[-1]
    reloaded = FactLearner.load_from_checkpoint(ckpt, map_location="cpu")
    assert reloaded.config.sequence_mixer == "hawk"
    tokens = torch.randint(3, cli.model.hparams.config["vocab_size"], (2, 10))
    reloaded.eval()
    with torch.no_grad():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]
        cli.model.load_state_dict(state)
        cli.model.eval()
        torch.testing.assert_close(reloaded(tokens), cli.model(tokens))


def test_attention_statistics_refuses_a_hawk_model_before_training(run_tiny, tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=PATCHING_NEEDS_ATTENTION.replace("AttentionPatching", "AttentionStatistics")
    ):
        run_tiny(
            "--model.config.sequence_mixer",
            "hawk",
            "--trainer.callbacks+=factdyn.callbacks.AttentionStatistics",
            "--trainer.max_steps",
            "100",
        )
    # Refused at setup: no training step ran, so no checkpoint after step 0 was written.
    trained = [p.name for p in tmp_path.rglob("*.ckpt") if p.name != "step=00000000.ckpt"]
    assert trained == []
