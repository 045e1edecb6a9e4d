"""Load the Transformer of a factdyn checkpoint and check that it fits another model (no Lightning)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factdyn.model import Transformer, TransformerConfig
from factdyn.training.checkpoint_files import load_verified


@dataclass
class Pretrained:
    """A Transformer restored from a checkpoint, with what identifies it."""

    model: Transformer
    path: Path
    step: int
    tokenizer_fingerprint: str
    optimizer_states: list[dict[str, Any]] | None = None


def load_pretrained(path: str | Path, frozen: bool = True, optimizer_states: bool = False) -> Pretrained:
    """The Transformer of a ``FactLearner`` checkpoint (built from its saved hyperparameters).

    ``optimizer_states``: also keep the checkpoint's optimizer states (fine-tuning may start from them);
    otherwise only the model is kept, not the rest of the checkpoint (AdamW's moments are twice its size).
    """
    ckpt = load_verified(path)  # hash-checked: a corrupt file fails with a one-line error
    hparams: dict[str, Any] = dict(ckpt.get("hyper_parameters", {}))
    # Checkpoints written before the config was one argument hold its fields flat.
    model = Transformer(TransformerConfig.from_dict(hparams.get("config", hparams)))
    state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    model.load_state_dict(state)
    if frozen:
        model.eval().requires_grad_(False)
    return Pretrained(
        model=model,
        path=Path(path),
        step=int(ckpt.get("global_step", -1)),
        tokenizer_fingerprint=str(hparams.get("tokenizer_fingerprint", "")),
        optimizer_states=ckpt.get("optimizer_states") if optimizer_states else None,
    )


def mismatches(
    source: Pretrained,
    config: TransformerConfig | None,
    tokenizer_fingerprint: str,
    label: str = "checkpoint",
) -> list[str]:
    """Every field in which ``source`` differs from a model of ``config`` trained with that tokenizer."""
    found = []
    for name in TransformerConfig.weight_fields():
        ours, theirs = getattr(config, name, None), getattr(source.model.config, name)
        if ours != theirs:
            found.append(f"{name}: {label} {theirs!r} != model {ours!r}")
    if source.tokenizer_fingerprint != tokenizer_fingerprint:
        theirs = source.tokenizer_fingerprint
        found.append(f"tokenizer_fingerprint: {label} {theirs!r} != model {tokenizer_fingerprint!r}")
    return found
