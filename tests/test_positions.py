"""``model.config.positions``: learned absolute, rotary (relative) or none (issue 16).

Fused against explicit attention for every choice is in test_model.py, compiled forwards in test_speed.py,
patching with every choice in test_patching.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from factdyn.checks import ConfigError
from factdyn.interp.patching import check_compatible, load_reference
from factdyn.model import POSITIONS, RotaryTable, Transformer, TransformerConfig, apply_rotary, hooks
from factdyn.training.pretrained import load_pretrained
from factdyn.training.run_directory import checkpoint_point, refuse_contradicting_flags
from tests.test_patching import learner, save_module_checkpoint

SHAPE = dict(vocab_size=50, max_seq_len=24, n_layer=2, n_head=2, d_model=16, d_mlp=32)


def model(positions: str, seed: int = 0, **overrides) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(TransformerConfig(**{**SHAPE, **overrides, "positions": positions}))


def test_rotary_turns_each_pair_by_its_angle_in_the_rotate_half_layout() -> None:
    d_head, table = 8, RotaryTable(8, 24)
    cos, sin = table(24)
    assert cos.shape == sin.shape == (24, d_head)
    x = torch.randn(3, 24, d_head, dtype=torch.float32)
    turned = apply_rotary(x, cos, sin)
    torch.testing.assert_close(turned[:, 0], x[:, 0])  # position 0 does not turn
    torch.testing.assert_close(turned.norm(dim=-1), x.norm(dim=-1))  # a rotation: lengths kept
    # Dimension i pairs with i + d_head/2 and turns by p * 10000^(-2i/d_head).
    p, i = 5, 1
    e = torch.zeros(24, d_head)
    e[:, i] = 1.0
    angle = p * 10_000 ** (-2 * i / d_head)
    expected = torch.zeros(d_head)
    expected[i], expected[i + d_head // 2] = math.cos(angle), math.sin(angle)
    torch.testing.assert_close(apply_rotary(e, cos, sin)[p], expected)


def test_rotary_dot_products_depend_on_the_offset_only() -> None:
    cos, sin = RotaryTable(8, 24)(24)
    q, k = torch.randn(8), torch.randn(8)
    scores = apply_rotary(q.expand(24, 8), cos, sin) @ apply_rotary(k.expand(24, 8), cos, sin).T
    for shift in (1, 7):
        torch.testing.assert_close(scores[shift:, shift:], scores[:-shift, :-shift])
    assert not torch.allclose(scores[0, 0], scores[3, 0])  # but the offset itself matters


def layer0_scores(net: Transformer, idx: torch.Tensor) -> torch.Tensor:
    seen: list[torch.Tensor] = []
    with hooks(net, {"transformer.h.0.attn.hook_attn_scores": lambda s, hook: seen.append(s)}):
        net(idx)
    return seen[0]


@pytest.mark.parametrize(
    ("positions", "shift_invariant"), [("rotary", True), ("none", True), ("learned", False)]
)
def test_shifting_every_position_leaves_first_layer_scores_unchanged_unless_absolute(
    positions: str, shift_invariant: bool
) -> None:
    """The same 10 tokens at positions 0-9 and, after 7 other tokens, at 7-16: their first-layer scores
    among themselves (through ``hook_attn_scores``) are equal for relative positions, not for learned ones."""
    net = model(positions)
    tokens = torch.randint(0, 50, (2, 10), generator=torch.Generator().manual_seed(1))
    prefix = torch.randint(0, 50, (2, 7), generator=torch.Generator().manual_seed(2))
    at_start = layer0_scores(net, tokens)
    shifted = layer0_scores(net, torch.cat([prefix, tokens], dim=1))[..., 7:, 7:]
    causal = torch.ones(10, 10, dtype=torch.bool).tril()
    assert at_start.shape == shifted.shape == (2, 2, 10, 10)
    close = torch.allclose(at_start[..., causal], shifted[..., causal], atol=1e-5, rtol=1e-5)
    assert close is shift_invariant
    assert torch.isinf(at_start[..., ~causal]).all()
    if positions == "rotary":  # invariant, yet turned: the same weights without positions score otherwise
        plain = model("none")
        plain.load_state_dict(net.state_dict())
        assert not torch.allclose(layer0_scores(plain, tokens)[..., causal], at_start[..., causal])


def test_only_learned_positions_have_a_weight_and_rotary_tables_stay_out_of_checkpoints() -> None:
    nets = {positions: model(positions) for positions in POSITIONS}
    keys = {positions: list(net.state_dict()) for positions, net in nets.items()}
    assert "transformer.wpe.weight" in keys["learned"]
    assert keys["rotary"] == keys["none"] == [k for k in keys["learned"] if k != "transformer.wpe.weight"]
    assert not any(name.endswith("wpe") for name, _ in nets["none"].named_modules())
    assert {name for name, _ in nets["rotary"].named_buffers()} == {"rotary.cos", "rotary.sin"}
    assert nets["learned"].rotary is None and nets["none"].rotary is None
    total = {positions: sum(p.numel() for p in net.parameters()) for positions, net in nets.items()}
    assert total["learned"] - total["rotary"] == SHAPE["max_seq_len"] * SHAPE["d_model"]
    assert total["rotary"] == total["none"]
    d, L, V = SHAPE["d_model"], SHAPE["n_layer"], SHAPE["vocab_size"]
    non_embedding = L * (4 * d * d + 2 * d * SHAPE["d_mlp"] + 2 * d) + d
    for net in nets.values():
        assert net.get_num_params(non_embedding=True) == non_embedding
    assert total["none"] == non_embedding + 2 * V * d


def test_the_tables_are_built_once_and_follow_the_model_across_dtypes() -> None:
    net = model("rotary")
    cos, sin = net.rotary(24)
    assert cos.data_ptr() == net.rotary.cos.data_ptr()  # a slice of the buffer, no new table per forward
    net.to(torch.float64)
    assert net.rotary.cos.dtype == torch.float64
    idx = torch.randint(0, 50, (2, 9))
    assert net(idx).dtype == torch.float64


def test_rotary_fused_attention_stays_in_the_kernel_under_bf16_autocast(monkeypatch) -> None:
    """The fused path with rotary calls scaled_dot_product_attention once a layer, with q, k and v of one
    dtype (the tables follow q's), and never writes the softmax out."""
    from torch.nn import functional

    calls: list[tuple[torch.dtype, ...]] = []
    sdpa = functional.scaled_dot_product_attention

    def counted(q, k, v, **kwargs):
        calls.append((q.dtype, k.dtype, v.dtype))
        return sdpa(q, k, v, **kwargs)

    def no_softmax(*args, **kwargs):
        raise AssertionError("the fused path wrote the softmax out")

    monkeypatch.setattr(functional, "scaled_dot_product_attention", counted)
    monkeypatch.setattr(functional, "softmax", no_softmax)
    net = model("rotary")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = net(torch.randint(0, 50, (2, 9)))
    assert calls == [(torch.bfloat16,) * 3] * SHAPE["n_layer"]
    assert logits.isfinite().all()


def test_hawk_takes_learned_or_no_positions() -> None:
    hawk = dict(sequence_mixer="hawk")
    assert "transformer.wpe.weight" in model("learned", **hawk).state_dict()
    without = model("none", **hawk)
    assert "transformer.wpe.weight" not in without.state_dict()
    assert without(torch.randint(0, 50, (2, 9))).shape == (2, 9, 50)
    with pytest.raises(ConfigError, match="model.config.positions: 'learned' or 'none' with .*'hawk'"):
        model("rotary", **hawk)


def without_positions_field(module, path: Path) -> Path:
    """A checkpoint as written before ``positions`` existed: the config has no such key."""
    hparams = dict(module.hparams)
    hparams["config"] = {k: v for k, v in hparams["config"].items() if k != "positions"}
    torch.save({"hyper_parameters": hparams, "state_dict": module.state_dict(), "global_step": 3}, path)
    return path


def test_a_checkpoint_without_the_field_loads_as_learned(tmp_path: Path) -> None:
    module = learner(0)
    old = load_pretrained(without_positions_field(module, tmp_path / "old.ckpt"))
    assert old.model.config.positions == "learned" and old.model.config == module.config
    idx = torch.randint(0, 40, (2, 9))
    torch.testing.assert_close(old.model(idx), module.model(idx))


@pytest.mark.parametrize(("theirs", "ours"), [("learned", "rotary"), ("rotary", "none"), ("none", "learned")])
def test_a_checkpoint_is_refused_by_a_model_with_other_positions(
    tmp_path: Path, theirs: str, ours: str
) -> None:
    ckpt = save_module_checkpoint(learner(1, positions=theirs), tmp_path / "ref.ckpt", 7)
    with pytest.raises(ConfigError, match=f"positions: reference '{theirs}' != model '{ours}'") as err:
        check_compatible(load_reference(ckpt), learner(0, positions=ours).model, "abc")
    assert "\n" not in str(err.value)
    start = learner(0, positions=ours)
    start.hparams.init_checkpoint = str(ckpt)
    with pytest.raises(
        ConfigError, match=f"^model.init_checkpoint: .*positions: checkpoint '{theirs}' != model"
    ):
        start.setup("fit")
    check_compatible(load_reference(ckpt), learner(0, positions=theirs).model, "abc")  # same choice: fine


def test_an_older_checkpoint_is_refused_as_a_patching_reference_for_rotary(tmp_path: Path) -> None:
    old = load_reference(without_positions_field(learner(1), tmp_path / "old.ckpt"))
    with pytest.raises(ConfigError, match="positions: reference 'learned' != model 'rotary'"):
        check_compatible(old, learner(0, positions="rotary").model, "abc")


def test_resuming_an_older_run_with_other_positions_is_refused(tmp_path: Path) -> None:
    """A resume compares the checkpoint's fields with the run's; one it does not record held its default."""
    module = learner(0)
    checkpoint = torch.load(without_positions_field(module, tmp_path / "old.ckpt"), weights_only=True)
    point = checkpoint_point(tmp_path / "old.ckpt", checkpoint)
    current = {"model": {**dict(module.hparams), "config": module.config.to_dict()}}
    refuse_contradicting_flags(point, current, {})  # learned, as the checkpoint was: fine
    current["model"]["config"]["positions"] = "rotary"
    with pytest.raises(
        ConfigError, match="^model.config.positions: 'learned' as in the checkpoint being resumed"
    ):
        refuse_contradicting_flags(point, current, {})


@pytest.mark.parametrize("positions", POSITIONS)
def test_tiny_run_with_each_choice_trains_records_patterns_and_reloads(run_tiny, positions: str) -> None:
    from factdyn.analysis.runs import read_scalars
    from factdyn.training.module import FactLearner

    stats = [
        "--trainer.callbacks+=factdyn.callbacks.AttentionStatistics",
        "--trainer.callbacks.n_sequences=8",
    ]
    cli, run_dir = run_tiny("--model.config.positions", positions, "--trainer.max_steps=4", *stats)
    assert cli.trainer.global_step == 4 and cli.model.config.positions == positions
    scalars = read_scalars(run_dir)
    assert [step for step, _ in scalars["attn/name_to_name/layer_0"]] == [4]
    loaded = FactLearner.load_from_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert loaded.config.positions == positions
    assert ("model.transformer.wpe.weight" in loaded.state_dict()) is (positions == "learned")
    idx = torch.randint(3, 40, (2, 9))
    torch.testing.assert_close(loaded.model(idx), cli.model.model.cpu()(idx))
    if positions == "rotary":  # a learned run refuses this run's checkpoint as its patching reference
        patch = [
            "--trainer.callbacks+=factdyn.callbacks.AttentionPatching",
            f"--trainer.callbacks.reference_checkpoint={run_dir / 'checkpoints' / 'last.ckpt'}",
        ]
        with pytest.raises(ConfigError, match="positions: reference 'rotary' != model 'learned'"):
            run_tiny(*patch)
