"""Synthetic run directories for the report's tests: a ``config.yaml``, a tiny TensorBoard events file and a
``summary.json``, written without training; and the figures the report draws, captured as matplotlib
objects."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from torch.utils.tensorboard import SummaryWriter

BASELINE = 6.0


def true_plateau_end(n: int) -> int:
    """The synthetic law the runs follow: plateau end = 0.5 · N^0.8, on the 10-step evaluation grid."""
    return int(round(0.5 * n**0.8 / 10) * 10)


def write_run(
    root: Path,
    name: str,
    config: dict,
    scalars: dict[str, list[tuple[int, float]]],
    summary: dict | None = None,
) -> Path:
    """``root/name/version_0`` with the config, the scalars as one events file, and the summary."""
    run_dir = root / name / "version_0"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    writer = SummaryWriter(str(run_dir))
    for tag, points in scalars.items():
        for step, value in points:
            writer.add_scalar(tag, value, step)
    writer.close()
    if summary is not None:
        (run_dir / "summary.json").write_text(json.dumps(summary))
    return run_dir


def merge_sections(config: dict, extra: dict | None) -> None:
    """Merge ``extra`` into ``config`` section by section (``{"model": {"lr": 2e-5}}`` adds ``model.lr``)."""
    for section, values in (extra or {}).items():
        config.setdefault(section, {}).update(values)


def phase_curves(end: int, max_steps: int, every: int = 10) -> dict[str, list[tuple[int, float]]]:
    """Loss: 3× baseline at step 0 down to the baseline by step 50, flat until ``end``, then decaying."""
    tags = ("val/attr_loss", "val/attr_acc", "unseen/attr_loss", "unseen/attr_acc", "val/max_prob",
            "unseen/max_prob", "baseline/attr_loss")  # fmt: skip
    out: dict[str, list[tuple[int, float]]] = {k: [] for k in tags}
    for step in range(0, max_steps + 1, every):
        if step < 50:
            loss = BASELINE * (3 - 2 * step / 50)
        elif step < end:
            loss = BASELINE * 1.01
        else:
            loss = BASELINE * 0.85 * math.exp(-(step - end) / 200)
        acc = 0.0 if step < end else 1 - loss / BASELINE
        out["val/attr_loss"].append((step, loss))
        out["val/attr_acc"].append((step, acc))
        out["unseen/attr_loss"].append((step, BASELINE + max(0.0, BASELINE - loss)))
        out["unseen/attr_acc"].append((step, 0.0))
        out["val/max_prob"].append((step, 0.5 + acc / 2))
        out["unseen/max_prob"].append((step, 0.5 + acc / 4))
        out["baseline/attr_loss"].append((step, BASELINE))
    return out


def pretraining_run(
    root: Path, name: str, n: int, seed: int, end: int, extra_config: dict | None = None, every: int = 10
) -> Path:
    """A pre-training run at population size ``n`` whose plateau ends at ``end`` (recorded in its summary),
    batch 32; its step budget depends on ``n`` only (1.3 × the synthetic law's plateau end + 400)."""
    max_steps = int(1.3 * true_plateau_end(n)) + 400
    summary = {
        "steps": max_steps,
        "n_individuals": n,
        "seed": seed,
        "baseline_attr_loss": BASELINE,
        "plateau": {"start_step": 50, "end_step": end, "knowledge_step": end + 300},
        "final": {"val/attr_loss": 0.01 + seed / 1000, "val/attr_acc": 0.99 - seed / 100},
    }
    config = {
        "seed_everything": seed,
        "trainer": {"max_steps": max_steps, "logger": {"name": name}},
        "data": {"n_individuals": n, "batch_size": 32, "seed": seed},
        "model": {"lr": 0.002},
    }
    merge_sections(config, extra_config)
    return write_run(root, name, config, phase_curves(end, max_steps, every), summary)


def finetune_run(
    root: Path,
    name: str,
    seed: int,
    n_new: int,
    step0: bool = True,
    collapse: bool = True,
    extra_config: dict | None = None,
) -> Path:
    """A fine-tuning run (``ft_old/*``, ``ft_new/*``) whose old accuracy collapses from 0.93 in the first
    steps (or, without ``collapse``, stays at 0.98); ``step0``: it logged the pre-trained model at step 0;
    ``extra_config`` is merged into the config's sections (``{"model": {"lr": 2e-5}}``)."""
    steps = range(0 if step0 else 25, 1001, 25)
    if collapse:
        old_acc = [(s, 0.93 * math.exp(-s / (40 + n_new / 10)) + 0.05) for s in steps]
    else:
        old_acc = [(s, 0.98 - seed / 1000) for s in steps]
    new_acc = [(s, 1 - math.exp(-s / 150)) for s in steps]
    scalars = {
        "ft_old/attr_acc": old_acc,
        "ft_new/attr_acc": new_acc,
        "ft_old/attr_loss": [(s, 0.4 + 7 * (1 - a / 0.98)) for s, a in old_acc],
        "ft_new/attr_loss": [(s, 0.05 + 12 * (1 - a)) for s, a in new_acc],
        "baseline/attr_loss": [(s, BASELINE) for s in steps],
    }
    config = {
        "seed_everything": seed,
        "model": {"init_checkpoint": "logs/quickstart/version_0/checkpoints/last.ckpt"},
        "data": {"n_individuals": 2000, "n_new": n_new, "batch_size": 32},
        "trainer": {"max_steps": 1000},
    }
    merge_sections(config, extra_config)
    return write_run(root, name, config, scalars, {"steps": 1000, "baseline_attr_loss": BASELINE})


def attention_run(
    root: Path,
    name: str,
    seed: int,
    n_layers: int = 4,
    grouping: float = 0.0,
    extra_config: dict | None = None,
) -> Path:
    """A run logging every attention statistic in every layer (``attn/<stat>/layer_<l>``, 0-based); layer 0's
    name->name rises by ``grouping`` over the run; ``extra_config`` is merged into the config's sections."""
    steps = range(0, 301, 50)
    scalars = phase_curves(100, 300, 50)
    for layer in range(n_layers):
        rise = grouping if layer == 0 else 0.0
        scalars[f"attn/name_to_name/layer_{layer}"] = [(s, 0.3 + 0.1 * layer + rise * s / 300) for s in steps]
        scalars[f"attn/attr_to_name/layer_{layer}"] = [(s, s / 300 * (layer + 1) / n_layers) for s in steps]
        scalars[f"attn/attr_to_text/layer_{layer}"] = [(s, 1 - s / 400) for s in steps]
        scalars[f"attn/entropy/layer_{layer}"] = [(s, 0.9 - s / 1000 - seed / 100) for s in steps]
    config = {"seed_everything": seed, "data": {"n_individuals": 3000, "batch_size": 32}}
    merge_sections(config, extra_config)
    summary = {"steps": 300, "seed": seed, "baseline_attr_loss": BASELINE}
    return write_run(root, name, config, scalars, summary)


@pytest.fixture
def drawn_figures(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Figure file stem -> the matplotlib Figure saved there (still inspectable after it is closed)."""
    from matplotlib.figure import Figure

    saved: dict[str, Any] = {}
    original = Figure.savefig

    def record(self: Figure, fname: Any, *args: Any, **kwargs: Any) -> Any:
        saved[Path(str(fname)).stem] = self
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return saved
