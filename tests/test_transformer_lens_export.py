"""Export to TransformerLens: the exported weights compute factdyn's logits, with TransformerLens's
conventions written out here (no extra needed) and, where the extra is installed, in a HookedTransformer."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from factdyn.checks import ConfigError
from factdyn.cli import main
from factdyn.inspection import load_run
from factdyn.inspection.transformer_lens_export import (
    export_transformer_lens,
    hooked_transformer_config,
    transformer_lens_state_dict,
)
from factdyn.model import Transformer, TransformerConfig

TOLERANCE = 1e-4


def random_model(**shape: int) -> Transformer:
    """A Transformer with weights far from the init's small ones, gains included (a real test of the map)."""
    torch.manual_seed(0)
    config = {"vocab_size": 50, "max_seq_len": 24, "n_layer": 2, "n_head": 4, "d_model": 32, "d_mlp": 48}
    model = Transformer(TransformerConfig(**{**config, **shape})).eval()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.5)
    return model


def rms(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    return x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt() * w


def transformer_lens_forward(state: dict[str, torch.Tensor], cfg: dict, tokens: torch.Tensor) -> torch.Tensor:
    """A HookedTransformer's forward with RMS norms, standard positions and exact GELU, from its weights
    (TransformerLens's einsum conventions: W_Q [head, d_model, d_head], W_O [head, d_head, d_model])."""
    T = tokens.shape[1]
    x = state["embed.W_E"][tokens] + state["pos_embed.W_pos"][:T]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    for layer in range(cfg["n_layers"]):
        b = f"blocks.{layer}."
        h = rms(x, state[b + "ln1.w"], cfg["eps"])
        q, k, v = (
            torch.einsum("bpd,hde->bphe", h, state[b + f"attn.W_{n}"]) + state[b + f"attn.b_{n}"]
            for n in "QKV"
        )
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(cfg["d_head"])
        pattern = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        z = torch.einsum("bhqk,bkhe->bqhe", pattern, v)
        x = x + torch.einsum("bqhe,hed->bqd", z, state[b + "attn.W_O"]) + state[b + "attn.b_O"]
        h = rms(x, state[b + "ln2.w"], cfg["eps"])
        hidden = F.gelu(h @ state[b + "mlp.W_in"] + state[b + "mlp.b_in"])
        x = x + hidden @ state[b + "mlp.W_out"] + state[b + "mlp.b_out"]
    return rms(x, state["ln_final.w"], cfg["eps"]) @ state["unembed.W_U"] + state["unembed.b_U"]


def test_the_exported_weights_compute_factdyns_logits() -> None:
    model = random_model()
    tokens = torch.randint(0, 50, (3, 20))
    with torch.no_grad():
        ours = model(tokens)
        theirs = transformer_lens_forward(
            transformer_lens_state_dict(model), hooked_transformer_config(model), tokens
        )
    assert ours.abs().max() > 1  # logits far from zero: a wrong map could not pass by being small
    assert (ours - theirs).abs().max() < TOLERANCE


def test_config_maps_the_architecture() -> None:
    cfg = hooked_transformer_config(random_model())
    assert cfg | {"eps": 0} == {
        "n_layers": 2,
        "d_model": 32,
        "n_ctx": 24,
        "d_head": 8,
        "n_heads": 4,
        "d_mlp": 48,
        "d_vocab": 50,
        "act_fn": "gelu",
        "normalization_type": "RMS",
        "positional_embedding_type": "standard",
        "eps": 0,
        "default_prepend_bos": False,
        "original_architecture": "factdyn",
    }
    assert cfg["eps"] == 1e-6


def test_a_hawk_model_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^model.config.sequence_mixer: 'attention' .*got 'hawk'$"):
        transformer_lens_state_dict(random_model(sequence_mixer="hawk"))


def test_factdyn_export_writes_config_weights_and_vocabulary(trained_tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "tl"
    main(["export", str(trained_tiny_run), "--to", "transformer-lens", str(out)])
    run = load_run(trained_tiny_run, "cpu")
    config = json.loads((out / "config.json").read_text())
    assert config == hooked_transformer_config(run.model)
    state = torch.load(out / "state_dict.pt", weights_only=True)
    expected = transformer_lens_state_dict(run.model)
    assert state.keys() == expected.keys() and all(torch.equal(state[k], expected[k]) for k in state)
    assert json.loads((out / "vocab.json").read_text()) == run.tokenizer.itos


def test_export_writes_safetensors_when_installed(tmp_path: Path) -> None:
    safetensors = pytest.importorskip("safetensors.torch")
    model = random_model()
    written = export_transformer_lens(model, tmp_path, [f"w{i}" for i in range(50)])
    assert tmp_path / "model.safetensors" in written
    weights = safetensors.load_file(str(tmp_path / "model.safetensors"))
    expected = transformer_lens_state_dict(model)
    assert weights.keys() == expected.keys() and all(torch.equal(weights[k], expected[k]) for k in expected)


def test_a_hooked_transformer_gives_the_same_logits(trained_tiny_run: Path, tmp_path: Path) -> None:
    transformer_lens = pytest.importorskip("transformer_lens")
    from factdyn.inspection.transformer_lens_export import to_hooked_transformer

    run = load_run(trained_tiny_run, "cpu")
    batch = run.datamodule.eval_batches["val"][0]["tokens"][:, :-1]
    for p in run.model.parameters():  # trained 8 steps only: move the weights off the init
        p.add_(torch.randn_like(p) * 0.3)
    with torch.no_grad():
        ours = run.model(batch)
        hooked = to_hooked_transformer(run.model)
        assert (hooked(batch) - ours).abs().max() < TOLERANCE
        # The exported files load without factdyn.
        export_transformer_lens(run.model, tmp_path, list(run.tokenizer.itos))
        cfg = transformer_lens.HookedTransformerConfig(**json.loads((tmp_path / "config.json").read_text()))
        loaded = transformer_lens.HookedTransformer(cfg)
        missing, unexpected = loaded.load_state_dict(torch.load(tmp_path / "state_dict.pt"), strict=False)
        assert unexpected == [] and all(k.endswith(("attn.mask", "attn.IGNORE")) for k in missing)
        assert (loaded.eval()(batch) - ours).abs().max() < TOLERANCE
