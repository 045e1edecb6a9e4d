"""Load the Transformer of a factdyn checkpoint and check that it fits another model (no Lightning)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factdyn.model import Transformer, TransformerConfig
from factdyn.training.checkpoint_files import CheckpointError, load_verified, load_weights


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
    # Safe and hash-checked: a bad file fails with a one-line error.
    return pretrained_from(load_verified(path), path, frozen, optimizer_states)


def pretrained_from(
    ckpt: dict[str, Any], path: str | Path, frozen: bool = True, optimizer_states: bool = False
) -> Pretrained:
    """:func:`load_pretrained` of a checkpoint already loaded (by ``load_verified``) from ``path``."""
    hparams, state_dict = ckpt.get("hyper_parameters"), ckpt.get("state_dict")
    if not isinstance(hparams, dict) or not isinstance(state_dict, dict):
        keys = ", ".join(map(repr, list(ckpt)[:6])) or "nothing"
        raise CheckpointError(
            f"{path}: not a FactLearner checkpoint: it must hold 'state_dict' and 'hyper_parameters' (a file "
            f"written by factdyn fit, e.g. <run>/checkpoints/last.ckpt), it holds {keys}"
        )
    # Checkpoints written before the config was one argument hold its fields flat.
    try:
        config = TransformerConfig.from_dict(hparams.get("config", hparams))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: no Transformer config in its hyper_parameters ({err})") from err
    model = Transformer(config)
    state = {k.removeprefix("model."): v for k, v in state_dict.items() if k.startswith("model.")}
    load_weights(
        model, state, path, lambda detail: f"the Transformer its hyper_parameters describe ({detail})"
    )
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
