"""FactLearner: the LightningModule joining the Transformer, the losses, the attribute metrics and AdamW."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from typing import Any, Literal

import lightning as L
import torch
from torch.optim.lr_scheduler import LambdaLR

from factdyn.data.datamodule import EVAL_SETS
from factdyn.model import Transformer, TransformerConfig
from factdyn.training.checkpoint_io import read_verified_bytes
from factdyn.training.metrics import (
    AttributeMetrics,
    no_knowledge_baseline,
    slot_sums,
    token_nll,
    value_results,
)
from factdyn.training.pretrained import load_pretrained, mismatches

N_SLOTS = 6
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile_model(
    model: torch.nn.Module, mode: str = "default", dynamic: bool | None = True, backend: str = "inductor"
) -> torch.nn.Module:
    """``torch.compile`` the Transformer; ``backend="eager"`` lets tests count recompilations cheaply."""
    return torch.compile(
        model, mode=None if backend != "inductor" else mode, dynamic=dynamic, backend=backend
    )


class FactLearner(L.LightningModule):
    """Trains a decoder-only Transformer on biographies and measures what it knows.

    Args:
        vocab_size, max_seq_len: model input shape; linked from the DataModule by the CLI.
        attributes, attribute_cardinalities: attribute names and their numbers of possible values; linked
            from the DataModule; they define the no-knowledge baseline.
        tokenizer_fingerprint: hash of the data's vocabulary; linked; checked when checkpoints are reused.
        n_layer, n_head, d_model, d_mlp, dropout, attention: the Transformer's shape (paper: 8, 8, 512, 2048).
        sequence_mixer: temporal-mixing block, ``attention`` (paper default) or ``hawk`` (Griffin's RG-LRU
            block, the paper's mixer ablation; see docs/ablations.md).
        d_rnn: Hawk's recurrence width; ``None`` is about 4/3 d_model (attention's parameter count).
        lr: peak learning rate (paper: 4e-4).
        betas, weight_decay: AdamW settings (paper: (0.9, 0.95), 0.1 on matrices only).
        lr_schedule: ``cosine`` (decay from ``lr`` to ``min_lr`` over ``decay_steps``) or ``constant``.
        min_lr: final learning rate of the cosine (paper: 1e-7).
        warmup_steps: linear warm-up steps (paper: 0).
        decay_steps: length of the cosine; ``None`` uses ``trainer.max_steps``.
        compile: ``torch.compile`` the model for training steps (evaluation stays eager; needs the fused
            attention path and no hooks: pattern recording and patching refuse a compiled model).
        compile_mode: ``torch.compile`` mode: ``default``, ``reduce-overhead`` (CUDA graphs: fewer kernel
            launches) or ``max-autotune`` (also tunes matmul kernels; long first compile).
        compile_dynamic: compile with a symbolic sequence length (``True``: one graph whatever the padded
            length), static shapes (``False``: one graph per distinct length; pair it with
            ``data.pad_to_multiple`` so that there are only a few), or ``None`` (PyTorch's automatic choice:
            static first, symbolic after the first new length).
        init_checkpoint: a ``FactLearner`` checkpoint whose weights start this run (fine-tuning); loaded in
            ``setup``, so resuming this run from its own checkpoint still restores the resumed weights.
        init_optimizer_state: also take AdamW's moments from ``init_checkpoint`` (default: a fresh optimizer;
            the paper does not say which it used).
        eval_prefixes: TensorBoard prefix of each evaluation set, e.g. ``{val: ft_old, new: ft_new}`` for
            fine-tuning; sets not named keep their own name (``val``, ``unseen``, ``new``).
    """

    def __init__(
        self,
        vocab_size: int = 0,
        max_seq_len: int = 0,
        attributes: Sequence[str] = (),
        attribute_cardinalities: Sequence[int] = (),
        tokenizer_fingerprint: str = "",
        n_layer: int = 8,
        n_head: int = 8,
        d_model: int = 512,
        d_mlp: int = 2048,
        dropout: float = 0.0,
        attention: Literal["fused", "explicit"] = "fused",
        sequence_mixer: Literal["attention", "hawk"] = "attention",
        d_rnn: int | None = None,
        lr: float = 4e-4,
        betas: tuple[float, float] = (0.9, 0.95),
        weight_decay: float = 0.1,
        lr_schedule: Literal["cosine", "constant"] = "cosine",
        min_lr: float = 1e-7,
        warmup_steps: int = 0,
        decay_steps: int | None = None,
        compile: bool = False,
        init_checkpoint: str | None = None,
        init_optimizer_state: bool = False,
        eval_prefixes: dict[str, str] | None = None,
        compile_mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = (
            "default"
        ),
        compile_dynamic: bool | None = True,
    ) -> None:
        super().__init__()
        if not lr > 0:
            raise ValueError(f"model.lr must be > 0, got {lr}")
        if not 0 <= min_lr <= lr:
            raise ValueError(f"model.min_lr must be in [0, model.lr={lr}], got {min_lr}")
        if lr_schedule not in ("cosine", "constant"):
            raise ValueError(f"model.lr_schedule must be one of 'cosine', 'constant', got {lr_schedule!r}")
        if weight_decay < 0:
            raise ValueError(f"model.weight_decay must be >= 0, got {weight_decay}")
        if not all(0 <= b < 1 for b in betas) or len(betas) != 2:
            raise ValueError(f"model.betas must be two numbers in [0, 1), got {betas}")
        if warmup_steps < 0:
            raise ValueError(f"model.warmup_steps must be >= 0, got {warmup_steps}")
        if decay_steps is not None and decay_steps < 1:
            raise ValueError(f"model.decay_steps must be a positive integer or null, got {decay_steps}")
        unknown = sorted(set(eval_prefixes or {}) - set(EVAL_SETS))
        if unknown:
            raise ValueError(f"model.eval_prefixes keys must be among {list(EVAL_SETS)}, got {unknown}")
        if init_optimizer_state and not init_checkpoint:
            raise ValueError("model.init_optimizer_state=true needs model.init_checkpoint")
        if compile_mode not in COMPILE_MODES:
            raise ValueError(
                f"model.compile_mode must be one of {', '.join(map(repr, COMPILE_MODES))}, "
                f"got {compile_mode!r}"
            )
        if len(attributes) != len(attribute_cardinalities):
            raise ValueError("model.attributes and model.attribute_cardinalities must have the same length")
        self.save_hyperparameters()
        self.config = TransformerConfig(
            vocab_size=vocab_size,
            max_seq_len=max_seq_len,
            n_layer=n_layer,
            n_head=n_head,
            d_model=d_model,
            d_mlp=d_mlp,
            dropout=dropout,
            attention=attention,
            sequence_mixer=sequence_mixer,
            d_rnn=d_rnn,
        )
        self.model = Transformer(self.config)
        self.baseline_attr_loss = (
            no_knowledge_baseline(attribute_cardinalities) if attributes else float("nan")
        )
        self.eval_metrics = torch.nn.ModuleDict({name: AttributeMetrics(attributes) for name in EVAL_SETS})
        # Set in ``__dict__``, outside the module tree: registered, the compiled wrapper would put a second
        # copy of every weight (``_forward._orig_mod.*``) into the state dict and every checkpoint.
        self.__dict__["_forward"] = (
            compile_model(self.model, mode=compile_mode, dynamic=compile_dynamic) if compile else self.model
        )

    def setup(self, stage: str) -> None:
        """Start from ``init_checkpoint``'s weights (before Lightning restores a resumed run's own state)."""
        if stage != "fit" or not self.hparams.init_checkpoint:
            return
        source = load_pretrained(
            self.hparams.init_checkpoint, frozen=False, optimizer_states=self.hparams.init_optimizer_state
        )
        found = mismatches(source, self.config, self.hparams.tokenizer_fingerprint)
        if found:
            raise ValueError(
                f"model.init_checkpoint {self.hparams.init_checkpoint!r} does not match this model and data: "
                + "; ".join(found)
            )
        self.model.load_state_dict(source.model.state_dict())
        self._init_optimizer_states = source.optimizer_states

    def on_fit_start(self) -> None:
        # Before training starts, so the step-0 checkpoint (written at train start) holds these states too.
        states = getattr(self, "_init_optimizer_states", None)
        if states and self.trainer.ckpt_path is None:
            optimizer = self.trainer.optimizers[0]
            optimizer.load_state_dict(states[0])
            # The loaded state carries the pre-training learning rate; this run's schedule decides.
            for group, lr in zip(optimizer.param_groups, self.lr_schedulers().get_last_lr(), strict=True):
                group["lr"] = lr

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path: Any, *args: Any, **kwargs: Any) -> FactLearner:  # type: ignore[override]
        """Lightning's loader, after checking the file against its sha256 sidecar (one-line error if bad)."""
        if isinstance(checkpoint_path, (str, os.PathLike)):
            # Lightning loads the verified bytes: the file is read once, not once to hash and once to load.
            checkpoint_path = io.BytesIO(read_verified_bytes(checkpoint_path))
        return super().load_from_checkpoint(checkpoint_path, *args, **kwargs)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits (B, T, V) for token ids (B, T)."""
        return self._forward(tokens)

    def lm_loss(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Next-token loss averaged over non-pad targets, and the per-token NLL (B, T-1)."""
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        nll = token_nll(self(inputs), targets)
        not_pad = targets != 0
        return (nll * not_pad).sum() / not_pad.sum(), nll

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss, nll = self.lm_loss(batch["tokens"])
        bsz = batch["tokens"].shape[0]
        # Logged only on the steps Lightning writes (every ``log_every_n_steps``): each ``self.log`` costs
        # about 0.3 ms of host time, a few % of a GPU step. No host-device synchronisation either: logged
        # tensors stay on the device until written; ``prog_bar=True`` would ``.item()`` every step.
        if self._writes_logs_this_step():
            self.log("train/loss", loss.detach(), batch_size=bsz)
            attr_loss = slot_sums(nll.detach(), batch["value_slot"][:, 1:], N_SLOTS).mean()
            self.log("train/attr_loss", attr_loss, batch_size=bsz)
        return loss

    def _writes_logs_this_step(self) -> bool:
        """Whether Lightning writes on-step training logs after this step (its ``log_every_n_steps`` rule)."""
        trainer = self._trainer
        if trainer is None:
            return True
        every = trainer.log_every_n_steps
        return bool(trainer.fast_dev_run) or (every > 0 and (self.global_step + 1) % every == 0)

    def validation_step(
        self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0
    ) -> dict[str, Any]:
        """Update the split's metrics; return per-value results for callbacks (buckets, adaptive warm-up).

        Always eager (a compiled model would compile, and with CUDA graphs record, a second graph for no-grad
        forwards at the evaluation batch size, for the few large batches of a run), and the output head
        runs only where a value token is predicted: every attribute metric is about those tokens.
        """
        tokens = batch["tokens"]
        targets, slot = tokens[:, 1:], batch["value_slot"][:, 1:]
        hidden = self.model.hidden(tokens[:, :-1])
        value_logits = self.model.lm_head(hidden[slot >= 0])
        value_loss, value_correct, max_prob, entropy = value_results(value_logits, targets, slot, N_SLOTS)
        self.eval_metrics[batch["split"]].update(
            value_loss, value_correct, batch["value_attr"], max_prob, entropy
        )
        return {
            "split": batch["split"],
            "value_loss": value_loss,
            "value_correct": value_correct,
            "individual": batch["individual"],
        }

    def on_validation_epoch_end(self) -> None:
        self.log_eval_metrics()

    def test_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        return self.validation_step(batch, batch_idx, dataloader_idx)

    def on_test_epoch_end(self) -> None:
        self.log_eval_metrics()

    def log_eval_metrics(self) -> None:
        metrics: dict[str, torch.Tensor] = {}
        prefixes = self.hparams.eval_prefixes or {}
        baseline = torch.tensor(self.baseline_attr_loss, device=self.device)
        for split, metric in self.eval_metrics.items():
            if not metric.update_called:
                continue
            prefix = prefixes.get(split, split)
            values = metric.compute()
            metrics.update({f"{prefix}/{k}": v for k, v in values.items()})
            if split == "unseen":
                # Above zero: more confidently wrong about unseen people than knowing nothing would be.
                metrics[f"{prefix}/hallucination_gap"] = values["attr_loss"] - baseline
            metric.reset()
        metrics["baseline/attr_loss"] = baseline
        # Lightning reads a logged "step" as the x-axis value: evaluation points then sit on the optimizer
        # step they measure, not one before it.
        metrics["step"] = torch.tensor(float(self.global_step), device=self.device)
        self.log_dict(metrics, add_dataloader_idx=False, sync_dist=False)

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        optimizer = torch.optim.AdamW(
            self.model.optimizer_groups(hp.weight_decay),
            lr=hp.lr,
            betas=tuple(hp.betas),
            # Fused: one kernel for the whole update (faster on CPU too), and it honours ``found_inf``, by
            # which the non-finite guard skips a faulty step without a host sync.
            fused=self.device.type in ("cuda", "cpu"),
        )
        total = hp.decay_steps or (self.trainer.max_steps if self.trainer.max_steps > 0 else 1)
        floor = hp.min_lr / hp.lr

        def multiplier(step: int) -> float:
            if step < hp.warmup_steps:
                return (step + 1) / hp.warmup_steps
            if hp.lr_schedule == "constant":
                return 1.0
            progress = min(1.0, (step - hp.warmup_steps) / max(1, total - hp.warmup_steps))
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

        scheduler = LambdaLR(optimizer, multiplier)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
