"""HallucinationExamples: what the model says about people it has never seen, as TensorBoard text."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from factdyn.callbacks.media import log_text
from factdyn.callbacks.quiet import quiet
from factdyn.callbacks.setup_checks import check_at_setup
from factdyn.checks import require, require_choice, require_int
from factdyn.data.population import EVAL_SETS

CONFIDENCE_METRICS = ("attr_loss", "attr_acc", "max_prob", "entropy")


class HallucinationExamples(Callback):
    """Logs a Markdown table of greedy, teacher-forced attribute values for a few unseen individuals.

    From the first batch of the ``split`` evaluation set it takes ``n_individuals`` biographies and, for each
    of their six values, decodes the argmax token at every value position (teacher-forced: each token is
    predicted from the true prefix) next to the true value, with the probability the model gives the true
    value and its greedy guess. A second table puts the seen (``val``) and unseen confidence metrics side by
    side (attribute loss, accuracy, max probability, entropy, plus the no-knowledge baseline). Both go to
    TensorBoard text under ``hallucinations/examples`` (without TensorBoard:
    ``media/hallucinations/examples.md``, :mod:`factdyn.callbacks.media`) at every
    ``every_n_validations``-th validation.

    Args:
        n_individuals: biographies shown (each gives six rows).
        split: the evaluation set to sample (``unseen``: individuals never trained on).
        every_n_validations: log every n-th validation only.
    """

    def __init__(self, n_individuals: int = 3, split: str = "unseen", every_n_validations: int = 1) -> None:
        super().__init__()
        require_int("HallucinationExamples.n_individuals", n_individuals, 1)
        require_int("HallucinationExamples.every_n_validations", every_n_validations, 1)
        require_choice("HallucinationExamples.split", split, EVAL_SETS)
        self.n_individuals = n_individuals
        self.split = split
        self.every_n_validations = every_n_validations
        self.n_validations = 0
        self._rows: list[dict[str, Any]] | None = None

    def check_setup(self, stage: str, datamodule: Any, pl_module: Any, callbacks: Any) -> None:
        """``split`` is an evaluation set this data has (``new`` needs ``data.n_new > 0``)."""
        names = getattr(datamodule, "eval_set_names", None)
        if stage == "fit" and callable(names):
            sets = names()
            require(
                self.split in sets,
                "HallucinationExamples.split",
                f"an evaluation set of this data, one of {', '.join(map(repr, sets))}",
                self.split,
            )

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        check_at_setup(self, trainer, pl_module, stage)

    def _active(self, trainer: L.Trainer) -> bool:
        return (
            not quiet(trainer, fitting_only=True)
            and trainer.global_rank == 0
            and self.n_validations % self.every_n_validations == 0
        )

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._rows = None

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self._rows is not None or not self._active(trainer):
            return
        if not isinstance(outputs, dict) or outputs.get("split") != self.split:
            return
        rows = {
            k: batch[k][: self.n_individuals]
            for k in ("tokens", "value_start", "value_len", "value_attr", "name_start", "name_len")
        }
        # Full logits for these few rows only (evaluation computes the output head at value tokens only).
        with torch.no_grad():
            logits = pl_module.model(rows["tokens"][:, :-1])
        self._rows = completions(
            logits,
            rows,
            trainer.datamodule.tokenizer,
            getattr(trainer.datamodule, "attributes", None),
        )

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        active = self._active(trainer)
        if not quiet(trainer):
            self.n_validations += 1
        if not active or self._rows is None:
            return
        text = examples_markdown(self._rows) + "\n\n" + confidence_markdown(trainer.callback_metrics)
        log_text(trainer, "hallucinations/examples", text)
        self._rows = None

    def state_dict(self) -> dict[str, Any]:
        return {"n_validations": self.n_validations}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.n_validations = int(state_dict.get("n_validations", 0))


@torch.no_grad()
def completions(
    logits: torch.Tensor, batch: dict[str, torch.Tensor], tokenizer: Any, attributes: list[str] | None
) -> list[dict[str, Any]]:
    """Teacher-forced greedy values: one dict per (biography, sentence) with name, truth and guess.

    ``logits`` (B, T, V) are the model's outputs for ``tokens[:, :-1]``, so token ``p`` is predicted at
    ``p - 1``.
    """
    logp = torch.log_softmax(logits.float(), dim=-1).cpu()
    tokens = batch["tokens"].cpu()
    rows = []
    for b in range(tokens.shape[0]):
        n0, nl = int(batch["name_start"][b, 0]), int(batch["name_len"][b, 0])
        name = tokenizer.decode(tokens[b, n0 : n0 + nl].tolist())
        for k in range(batch["value_start"].shape[1]):
            start, length = int(batch["value_start"][b, k]), int(batch["value_len"][b, k])
            if length <= 0:
                continue
            positions = torch.arange(start - 1, start - 1 + length)
            truth = tokens[b, start : start + length]
            step_logp = logp[b, positions]  # (length, V)
            guess = step_logp.argmax(dim=-1)
            attr = int(batch["value_attr"][b, k])
            rows.append(
                {
                    "name": name,
                    "attribute": attributes[attr] if attributes else str(attr),
                    "truth": tokenizer.decode(truth.tolist()),
                    "guess": tokenizer.decode(guess.tolist()),
                    "p_truth": float(step_logp.gather(1, truth[:, None]).sum().exp()),
                    "p_guess": float(step_logp.max(dim=-1).values.sum().exp()),
                    "correct": bool((guess == truth).all()),
                }
            )
    return rows


def examples_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| individual | attribute | true value | greedy value | p(true) | p(greedy) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = " ✓" if r["correct"] else ""
        lines.append(
            f"| {r['name']} | {r['attribute']} | {r['truth']} | {r['guess']}{mark} | "
            f"{r['p_truth']:.2e} | {r['p_guess']:.3f} |"
        )
    return "\n".join(lines)


def confidence_markdown(metrics: dict[str, torch.Tensor]) -> str:
    """Seen (``val``) versus unseen confidence metrics, one row each."""
    lines = [
        "| split | " + " | ".join(CONFIDENCE_METRICS) + " |",
        "|---" * (len(CONFIDENCE_METRICS) + 1) + "|",
    ]
    for split, label in (("val", "seen (val)"), ("unseen", "unseen")):
        cells = []
        for name in CONFIDENCE_METRICS:
            v = metrics.get(f"{split}/{name}")
            cells.append("–" if v is None else f"{float(v):.4g}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    baseline = metrics.get("baseline/attr_loss")
    gap = metrics.get("unseen/hallucination_gap")
    if baseline is not None:
        lines.append(
            f"\nno-knowledge baseline {float(baseline):.4g} nats"
            + (f"; hallucination gap (unseen loss − baseline) {float(gap):+.4g}" if gap is not None else "")
        )
    return "\n".join(lines)
