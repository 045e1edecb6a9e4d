"""factdyn's Transformer as a TransformerLens ``HookedTransformer``, and its weights as files.

Optional: ``pip install 'factdyn[transformer-lens]'`` (TransformerLens 2 or 3, and safetensors;
TransformerLens 4.0 removed ``HookedTransformer`` for its ``TransformerBridge`` of Hugging Face models).
The architecture maps one to one: RMSNorm before attention, MLP and the unembedding
(``normalization_type="RMS"``, factdyn's eps 1e-6), learned absolute positions (``"standard"``), the
exact GELU (``F.gelu``: ``act_fn="gelu"``, not ``gelu_new``), untied embedding and unembedding, and no
biases (TransformerLens's are set to zero). A Hawk model (``sequence_mixer: hawk``) has no TransformerLens
counterpart and is refused.

The weights' TransformerLens names and shapes need torch only: :func:`transformer_lens_state_dict`;
:func:`export_transformer_lens` writes them with the config, so a machine with TransformerLens loads them
without factdyn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from factdyn.checks import ConfigError, UserError
from factdyn.model import Transformer

EXTRA = "pip install 'factdyn[transformer-lens]'"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
STATE_DICT_FILE = "state_dict.pt"
VOCABULARY_FILE = "vocab.json"


def _attention_model(model: Transformer) -> None:
    if model.config.sequence_mixer != "attention":
        raise ConfigError(
            "model.config.sequence_mixer",
            "'attention' (TransformerLens has no Hawk block to export to)",
            model.config.sequence_mixer,
        )


def hooked_transformer_config(model: Transformer) -> dict[str, Any]:
    """The ``HookedTransformerConfig`` keyword arguments of ``model``'s architecture (plain JSON values)."""
    _attention_model(model)
    c = model.config
    return {
        "n_layers": c.n_layer,
        "d_model": c.d_model,
        "n_ctx": c.max_seq_len,
        "d_head": c.d_head,
        "n_heads": c.n_head,
        "d_mlp": c.d_mlp,
        "d_vocab": c.vocab_size,
        "act_fn": "gelu",
        "normalization_type": "RMS",
        "positional_embedding_type": "standard",
        "eps": float(model.transformer.ln_f.eps),
        "default_prepend_bos": False,  # factdyn's token ids already start with <bos>
        "original_architecture": "factdyn",
    }


def transformer_lens_state_dict(model: Transformer) -> dict[str, torch.Tensor]:
    """``model``'s weights under TransformerLens's names and shapes, biases zero (float32, on the CPU).

    factdyn's ``c_attn`` computes ``x @ W.T`` with the rows of ``W`` grouped q, k, v, each by head then head
    dimension, so ``W_Q[h] = W_q.T[:, h * d_head : (h + 1) * d_head]``; ``c_proj`` reads the heads
    concatenated in the same order.
    """
    _attention_model(model)
    c, H, d_head = model.config, model.config.n_head, model.config.d_head

    def weight(t: torch.Tensor) -> torch.Tensor:
        return t.detach().to("cpu", torch.float32).contiguous().clone()

    state = {
        "embed.W_E": weight(model.transformer.wte.weight),
        "pos_embed.W_pos": weight(model.transformer.wpe.weight),
        "ln_final.w": weight(model.transformer.ln_f.weight),
        "unembed.W_U": weight(model.lm_head.weight.T),
        "unembed.b_U": torch.zeros(c.vocab_size),
    }
    for layer, block in enumerate(model.blocks):
        prefix = f"blocks.{layer}."
        q, k, v = block.attn.c_attn.weight.split(c.d_model, dim=0)
        for name, w in (("Q", q), ("K", k), ("V", v)):
            state[f"{prefix}attn.W_{name}"] = weight(w.T.reshape(c.d_model, H, d_head).permute(1, 0, 2))
            state[f"{prefix}attn.b_{name}"] = torch.zeros(H, d_head)
        state[f"{prefix}attn.W_O"] = weight(block.attn.c_proj.weight.T.reshape(H, d_head, c.d_model))
        state[f"{prefix}attn.b_O"] = torch.zeros(c.d_model)
        state[f"{prefix}ln1.w"] = weight(block.ln_1.weight)
        state[f"{prefix}ln2.w"] = weight(block.ln_2.weight)
        state[f"{prefix}mlp.W_in"] = weight(block.mlp.c_fc.weight.T)
        state[f"{prefix}mlp.b_in"] = torch.zeros(c.d_mlp)
        state[f"{prefix}mlp.W_out"] = weight(block.mlp.c_proj.weight.T)
        state[f"{prefix}mlp.b_out"] = torch.zeros(c.d_model)
    return state


def _transformer_lens() -> Any:
    try:
        import transformer_lens
        from transformer_lens import HookedTransformer, HookedTransformerConfig  # noqa: F401
    except ImportError as error:
        raise UserError(
            f"transformer_lens: TransformerLens 2 or 3 is needed ({EXTRA}; 4.0 removed HookedTransformer), "
            f"got {type(error).__name__}: {error}"
        ) from None
    return transformer_lens


def to_hooked_transformer(model: Transformer) -> Any:
    """A ``transformer_lens.HookedTransformer`` computing the same logits as ``model`` (eval mode, CPU)."""
    tl = _transformer_lens()
    hooked = tl.HookedTransformer(tl.HookedTransformerConfig(**hooked_transformer_config(model)))
    state = hooked.state_dict()  # its own buffers (the causal mask) as they are
    state.update(transformer_lens_state_dict(model))
    hooked.load_state_dict(state)
    return hooked.eval()


def export_transformer_lens(model: Transformer, out: Path, vocabulary: list[str]) -> list[Path]:
    """Write ``config.json`` (``HookedTransformerConfig`` arguments), ``state_dict.pt`` and, with
    safetensors installed, ``model.safetensors`` (the same tensors), and ``vocab.json`` (token id -> word)
    into ``out``; returns the files written. Load them with ``HookedTransformer(HookedTransformerConfig(
    **json.load(open("config.json"))))`` and ``load_state_dict(..., strict=False)`` (the missing keys are
    TransformerLens's causal-mask buffers)."""
    state = transformer_lens_state_dict(model)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / CONFIG_FILE, out / STATE_DICT_FILE, out / VOCABULARY_FILE]
    written[0].write_text(json.dumps(hooked_transformer_config(model), indent=2) + "\n")
    torch.save(state, written[1])
    written[2].write_text(json.dumps(vocabulary, ensure_ascii=False) + "\n")
    try:
        from safetensors.torch import save_file
    except ImportError:
        return written
    save_file(state, str(out / WEIGHTS_FILE), metadata={"format": "pt", "source": "factdyn"})
    return [*written, out / WEIGHTS_FILE]
