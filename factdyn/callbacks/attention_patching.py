"""Train with the attention patterns of a frozen reference checkpoint (paper §2.2, App. D, Figs. 3 and D)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info

from factdyn.callbacks.setup_checks import check_at_setup
from factdyn.checks import ConfigError, require, require_int
from factdyn.interp.patching import (
    Reference,
    check_compatible,
    check_layers,
    checkpoint_path,
    load_reference,
    patched_attention,
)


class AttentionPatching(Callback):
    """From ``start_step`` on, every forward pass uses a frozen reference model's attention patterns.

    On each batch the reference (one extra model, frozen, in eval mode, no gradient) runs on the same inputs
    and its post-softmax pattern replaces the trained model's in each patched layer; the hooks are removed at
    the end of the batch, on exception and at teardown. Before ``start_step`` the model uses its own
    attention; ``start_step`` equal to the reference's step freezes the attention at that step.

    The patched run starts from the same parameters and sees the same samples as the reference run when it
    uses the same ``seed_everything`` and data settings (the initialisation follows the seed and the training
    stream is a pure function of (seed, step)).

    Args:
        reference_checkpoint: a ``.ckpt`` file, or a run directory (``logs/<name>/version_N``) whose
            ``checkpoints/step=<reference_step in 8 digits>.ckpt`` is used.
        reference_step: the reference's step when ``reference_checkpoint`` is a run directory.
        start_step: first optimizer step trained with the reference's attention (paper: 0 in the main text).
        layers: layer indices (0-based) to patch; ``None`` patches all (paper).
        reset_optimizer: clear the optimizer state (Adam moments and step counts) when patching starts, as
            the paper does (it reports a smaller loss spike than without); the learning-rate schedule goes on.
        patch_evaluation: patch validation/test forwards too (from ``start_step`` on), so the evaluation
            metrics measure the patched model, as the paper's curves do.
    """

    def __init__(
        self,
        reference_checkpoint: str,
        reference_step: int | None = None,
        start_step: int = 0,
        layers: Sequence[int] | None = None,
        reset_optimizer: bool = True,
        patch_evaluation: bool = True,
    ) -> None:
        require_int("AttentionPatching.start_step", start_step, 0)
        require_int("AttentionPatching.reference_step", reference_step, 0, allow_none=True)
        require(
            layers is None
            or (
                bool(layers)
                and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in layers)
            ),
            "AttentionPatching.layers",
            "null (all layers) or non-empty layer indices >= 0",
            layers,
        )
        self.reference_checkpoint = str(reference_checkpoint)
        self.reference_step = reference_step
        self.start_step = start_step
        self.layers = None if layers is None else list(layers)
        self.reset_optimizer = reset_optimizer
        self.patch_evaluation = patch_evaluation
        self.reference: Reference | None = None
        self.optimizer_reset_at: int | None = None
        self._patch = ExitStack()

    @property
    def state_key(self) -> str:
        return self._generate_state_key(start_step=self.start_step, layers=self.layers)

    # --- setup: load and check the reference before any training -------------------------------------
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        check_at_setup(self, trainer, pl_module, stage)

    def check_setup(self, stage: str, datamodule: Any, pl_module: Any, callbacks: Any) -> None:
        """Load the reference (once) and check it against the model, before any training."""
        if self.reference is not None:
            return
        if pl_module.hparams.get("compile", False):
            # A compiled forward may not see hooks attached after tracing: patching could silently do nothing.
            raise ConfigError("model.compile", "false with AttentionPatching", True)
        path = checkpoint_path(self.reference_checkpoint, self.reference_step)
        reference = load_reference(path)
        model = pl_module.model
        check_compatible(reference, model, str(pl_module.hparams.get("tokenizer_fingerprint", "")))
        self.layers = check_layers(self.layers, model.config.n_layer)
        if self.reference_step is not None and reference.step != self.reference_step:
            raise ConfigError(
                "AttentionPatching.reference_step",
                f"the step {str(path)!r} holds ({reference.step})",
                self.reference_step,
            )
        self.reference = reference
        rank_zero_info(
            f"attention patching: reference step {reference.step} ({path}), layers {self.layers}, "
            f"from step {self.start_step}"
        )

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._to_device(pl_module)

    def _to_device(self, pl_module: L.LightningModule) -> None:
        if self.reference is not None:
            self.reference.model.to(pl_module.device)

    # --- patch each batch -----------------------------------------------------------------------------
    def _active(self, trainer: L.Trainer) -> bool:
        return trainer.global_step >= self.start_step

    def _begin(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any) -> None:
        self._end()
        if self.reference is None or not isinstance(batch, dict) or "tokens" not in batch:
            return
        self._to_device(pl_module)
        inputs = batch["tokens"][:, :-1]
        with trainer.precision_plugin.forward_context():
            self._patch.enter_context(
                patched_attention(pl_module.model, self.reference.model, inputs, self.layers)
            )

    def _end(self) -> None:
        self._patch.close()

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if not self._active(trainer):
            return
        if self.reset_optimizer and self.optimizer_reset_at is None:
            # Fresh Adam moments and bias-correction counts, as at initialisation (paper App. D.1).
            for optimizer in trainer.optimizers:
                optimizer.state.clear()
            self.optimizer_reset_at = trainer.global_step
        self._begin(trainer, pl_module, batch)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self._end()

    def _on_eval_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any) -> None:
        if self.patch_evaluation and self._active(trainer):
            self._begin(trainer, pl_module, batch)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        self._on_eval_batch_start(trainer, pl_module, batch)

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        self._end()

    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        self._on_eval_batch_start(trainer, pl_module, batch)

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._end()

    # Hooks are global state: never leave one behind.
    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._end()

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._end()

    # --- bookkeeping ----------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Section ``attention_patching`` of ``summary.json`` (analysis groups runs by reference step)."""
        ref = self.reference
        return {
            "attention_patching": {
                "reference_checkpoint": str(ref.path) if ref else self.reference_checkpoint,
                "reference_step": ref.step if ref else self.reference_step,
                "start_step": self.start_step,
                "layers": self.layers,
                "reset_optimizer": self.reset_optimizer,
                "optimizer_reset_at": self.optimizer_reset_at,
                "patch_evaluation": self.patch_evaluation,
            }
        }

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer_reset_at": self.optimizer_reset_at}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.optimizer_reset_at = state_dict.get("optimizer_reset_at")
