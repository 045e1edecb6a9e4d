"""FactLearner: the LightningModule joining the Transformer, the losses, the attribute metrics and AdamW."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch.optim.lr_scheduler import LambdaLR

from factdyn.checks import require, require_choice
from factdyn.data.population import EVAL_SETS, no_knowledge_baseline
from factdyn.data.resources import ATTRIBUTES
from factdyn.model import Transformer, TransformerConfig
from factdyn.training.checkpoint_files import check_checkpoint_bytes, read_verified_bytes
from factdyn.training.compilation import compile_model, cpu_compiler
from factdyn.training.metrics import (
    AttributeMetrics,
    slot_sums,
    token_nll,
    value_results,
)
from factdyn.training.pretrained import load_pretrained, mismatches
from factdyn.training.schedule import LrSchedule, check_schedule, lr_multiplier

N_SLOTS = len(ATTRIBUTES)
CompileMode = Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"]


class FactLearner(L.LightningModule):
    """Trains a decoder-only Transformer on biographies and measures what it knows.

    Args:
        config: the Transformer's shape, :class:`~factdyn.model.TransformerConfig` (its fields are
            documented there; YAML ``model.config.n_layer`` ...), or the mapping a checkpoint stores.
            ``vocab_size`` and ``max_seq_len`` are linked from the DataModule by the CLI.
        attributes, attribute_cardinalities: attribute names and their numbers of possible values; linked
            from the DataModule; they define the no-knowledge baseline.
        tokenizer_fingerprint: hash of the data's vocabulary; linked; checked when checkpoints are reused.
        lr: peak learning rate (paper: 4e-4).
        betas, weight_decay: AdamW settings (paper: (0.9, 0.95), 0.1 on matrices only).
        lr_schedule: ``cosine`` (decay from ``lr`` to ``min_lr`` over ``decay_steps``) or ``constant``.
        min_lr: final learning rate of the cosine (paper: 1e-7).
        warmup_steps: linear warm-up steps (paper: 0).
        decay_steps: length of the cosine; ``None`` uses ``trainer.max_steps``.
        compile: ``torch.compile`` the model for training steps (evaluation stays eager; needs the fused
            attention path and no hooks: pattern recording and patching refuse a compiled model).
        init_checkpoint: a ``FactLearner`` checkpoint whose weights start this run (fine-tuning); loaded in
            ``setup``, so resuming this run from its own checkpoint still restores the resumed weights.
        init_optimizer_state: also take AdamW's moments from ``init_checkpoint`` (default: a fresh optimizer;
            the paper does not say which it used).
        eval_prefixes: TensorBoard prefix of each evaluation set, e.g. ``{val: ft_old, new: ft_new}`` for
            fine-tuning; sets not named keep their own name (``val``, ``unseen``, ``new``).
        compile_mode: ``torch.compile`` mode: ``default``, ``reduce-overhead`` (CUDA graphs: fewer kernel
            launches) or ``max-autotune`` (also tunes matmul kernels; long first compile).
        compile_dynamic: compile with a symbolic sequence length (``True``: one graph whatever the padded
            length), static shapes (``False``: one graph per distinct length; pair it with
            ``data.pad_to_multiple`` so that there are only a few), or ``None`` (PyTorch's automatic choice:
            static first, symbolic after the first new length).
    """

    def __init__(
        self,
        config: TransformerConfig,
        attributes: Sequence[str] = (),
        attribute_cardinalities: Sequence[int] = (),
        tokenizer_fingerprint: str = "",
        lr: float = 4e-4,
        betas: tuple[float, float] = (0.9, 0.95),
        weight_decay: float = 0.1,
        lr_schedule: LrSchedule = "cosine",
        min_lr: float = 1e-7,
        warmup_steps: int = 0,
        decay_steps: int | None = None,
        compile: bool = False,
        init_checkpoint: str | None = None,
        init_optimizer_state: bool = False,
        eval_prefixes: dict[str, str] | None = None,
        compile_mode: CompileMode = "default",
        compile_dynamic: bool | None = True,
    ) -> None:
        super().__init__()
        # A checkpoint's hyperparameters hold the config as a plain dict (no pickled class to trust), which
        # ``load_from_checkpoint`` passes back here. The hint stays the dataclass alone: a union would stop
        # LightningCLI from exposing its fields as ``model.config.*``.
        if isinstance(config, Mapping):
            config = TransformerConfig.from_dict(config)
        check_schedule(lr, min_lr, lr_schedule, weight_decay, betas, warmup_steps, decay_steps)
        require(
            set(eval_prefixes or {}) <= set(EVAL_SETS),
            "model.eval_prefixes",
            f"a mapping whose keys are among {list(EVAL_SETS)}",
            eval_prefixes,
        )
        require(
            not init_optimizer_state or bool(init_checkpoint),
            "model.init_optimizer_state",
            "false unless model.init_checkpoint is set",
            init_optimizer_state,
        )
        require_choice("model.compile_mode", compile_mode, get_args(CompileMode))
        require(
            len(attributes) == len(attribute_cardinalities),
            "model.attribute_cardinalities",
            f"one per attribute ({len(attributes)})",
            list(attribute_cardinalities),
        )
        self.save_hyperparameters()
        self.hparams["config"] = config.to_dict()
        self.config = config
        self.model = Transformer(config)
        self.baseline_attr_loss = (
            no_knowledge_baseline(attribute_cardinalities) if attributes else float("nan")
        )
        self.eval_metrics = torch.nn.ModuleDict({name: AttributeMetrics(attributes) for name in EVAL_SETS})
        # Set in ``__dict__``, outside the module tree: registered, the compiled wrapper would put a second
        # copy of every weight (``_forward._orig_mod.*``) into the state dict and every checkpoint.
        self.__dict__["_forward"] = (
            compile_model(self.model, mode=compile_mode, dynamic=compile_dynamic) if compile else self.model
        )
        self._checkpoint_step: int | None = None

    def check_setup(self, stage: str, datamodule: Any = None) -> None:
        """Before anything runs (the CLI calls it before building the Trainer): ``init_checkpoint`` exists."""
        path = self.hparams.init_checkpoint
        if stage == "fit" and path:
            require(Path(path).is_file(), "model.init_checkpoint", "a checkpoint file that exists", path)

    def setup(self, stage: str) -> None:
        """Start from ``init_checkpoint``'s weights (before Lightning restores a resumed run's own state)."""
        if stage != "fit" or not self.hparams.init_checkpoint:
            return
        self.check_setup(stage)
        source = load_pretrained(
            self.hparams.init_checkpoint, frozen=False, optimizer_states=self.hparams.init_optimizer_state
        )
        found = mismatches(source, self.config, self.hparams.tokenizer_fingerprint)
        require(
            not found,
            "model.init_checkpoint",
            "a checkpoint that matches this model and data (" + "; ".join(found) + ")",
            self.hparams.init_checkpoint,
        )
        require(
            not self.hparams.init_optimizer_state or source.optimizer_states is not None,
            "model.init_optimizer_state",
            "false for a checkpoint without optimizer state (a lean scheduled one; last.ckpt has it)",
            True,
        )
        self.model.load_state_dict(source.model.state_dict())
        self._init_optimizer_states = source.optimizer_states

    def on_fit_start(self) -> None:
        if self.hparams.compile and self.device.type == "cpu" and cpu_compiler() is None:
            # Inductor would fail at the first step; the run is the same, only slower, when eager.
            rank_zero_warn(
                "model.compile: no C++ compiler found (inductor's CPU backend needs g++ or clang++, or $CXX);"
                " training eagerly"
            )
            self.__dict__["_forward"] = self.model
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
        """Lightning's loader, given only bytes that have passed factdyn's checks: safe to unpickle
        (``weights_only``), content hash and sidecar; a one-line ``CheckpointError`` if bad."""
        if isinstance(checkpoint_path, (str, os.PathLike)):
            # Lightning loads the verified bytes: the file is read once, and what it unpickles was checked.
            checkpoint_path = io.BytesIO(read_verified_bytes(checkpoint_path))
        elif hasattr(checkpoint_path, "read"):
            data = checkpoint_path.read()
            check_checkpoint_bytes(data, str(getattr(checkpoint_path, "name", "<checkpoint stream>")))
            checkpoint_path = io.BytesIO(data)
        return super().load_from_checkpoint(checkpoint_path, *args, **kwargs)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._checkpoint_step = int(checkpoint.get("global_step", 0))

    @property
    def evaluated_step(self) -> int:
        """The training step an evaluation measures: the trainer's while fitting; in ``validate`` / ``test``
        of a checkpoint, the checkpoint's (Lightning restores only the weights there, and counts from 0)."""
        trainer = self._trainer
        fitting = trainer is None or trainer.state.fn == "fit"
        return self.global_step if fitting or self._checkpoint_step is None else self._checkpoint_step

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
            optimizers = self._trainer.optimizers if self._trainer is not None else []
            if optimizers:
                # The rate this step's update uses, as one tag: Lightning's LearningRateMonitor logs one per
                # parameter group, and AdamW's two groups share it. A Python float: no device sync.
                self.log("train/lr", float(optimizers[0].param_groups[0]["lr"]), batch_size=bsz)
            # A logged "step" is Lightning's x value (the step it writes at anyway) and stops it adding an
            # "epoch" scalar to every training write: the stream is endless, so epoch would be 0 throughout.
            self.log("step", float(self.global_step), batch_size=bsz)
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
        value_loss, value_correct, max_prob, entropy = self.value_outcomes(batch)
        self.eval_metrics[batch["split"]].update(
            value_loss, value_correct, batch["value_attr"], max_prob, entropy
        )
        return {
            "split": batch["split"],
            "value_loss": value_loss,
            "value_correct": value_correct,
            "individual": batch["individual"],
        }

    def value_outcomes(
        self, batch: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-value NLL summed over the value's tokens and all-tokens-argmax flags, both (B, slots) in
        sentence order (``batch["value_attr"]`` gives each slot's attribute), and each value token's max
        probability and entropy: :func:`~factdyn.training.metrics.value_results` of an evaluation batch.

        The output head runs only where a value token is predicted; call it without gradients.
        """
        tokens = batch["tokens"]
        targets, slot = tokens[:, 1:], batch["value_slot"][:, 1:]
        hidden = self.model.hidden(tokens[:, :-1])
        value_logits = self.model.lm_head(hidden[slot >= 0])
        return value_results(value_logits, targets, slot, N_SLOTS)

    def on_validation_epoch_end(self) -> None:
        self.log_eval_metrics()

    def test_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        return self.validation_step(batch, batch_idx, dataloader_idx)

    def on_test_epoch_end(self) -> None:
        self.log_eval_metrics()

    def metric_names(self, eval_sets: Iterable[str]) -> list[str]:
        """Every metric this module logs in a run that evaluates ``eval_sets`` (what a monitor may name)."""
        names = ["train/loss", "train/attr_loss", "train/lr", "baseline/attr_loss"]
        for split in eval_sets:
            prefix = self.eval_prefix(split)
            names += [f"{prefix}/{k}" for k in self.eval_metrics[split].names()]
            if split == "unseen":
                names.append(f"{prefix}/hallucination_gap")
        return names

    def eval_prefix(self, split: str) -> str:
        """The tag prefix of an evaluation set's metrics: its ``eval_prefixes`` entry, else its own name."""
        return (self.hparams.eval_prefixes or {}).get(split, split)

    def log_eval_metrics(self) -> None:
        metrics: dict[str, torch.Tensor] = {}
        baseline = torch.tensor(self.baseline_attr_loss, device=self.device)
        for split, metric in self.eval_metrics.items():
            if not metric.update_called:
                continue
            prefix = self.eval_prefix(split)
            values = metric.compute()
            metrics.update({f"{prefix}/{k}": v for k, v in values.items()})
            if split == "unseen":
                # Above zero: more confidently wrong about unseen people than knowing nothing would be.
                metrics[f"{prefix}/hallucination_gap"] = values["attr_loss"] - baseline
            metric.reset()
        metrics["baseline/attr_loss"] = baseline
        # Lightning reads a logged "step" as the x-axis value: evaluation points then sit on the optimizer
        # step they measure, not one before it.
        metrics["step"] = torch.tensor(float(self.evaluated_step), device=self.device)
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
        scheduler = LambdaLR(
            optimizer, lr_multiplier(hp.lr_schedule, hp.lr, hp.min_lr, hp.warmup_steps, total)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
