"""End to end on the tiny preset: a reference run with attention statistics, then a run patched from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from factdyn.analysis.runs import read_scalars
from factdyn.model import hook_points

STATS = ["--trainer.callbacks+=factdyn.callbacks.AttentionStatistics", "--trainer.callbacks.n_sequences=24"]


def patch_args(reference: Path, reference_step: int, start_step: int) -> list[str]:
    return [
        "--trainer.callbacks+=factdyn.callbacks.AttentionPatching",
        f"--trainer.callbacks.reference_checkpoint={reference}",
        f"--trainer.callbacks.reference_step={reference_step}",
        f"--trainer.callbacks.start_step={start_step}",
    ]


def weights(run_dir: Path, step: int) -> dict[str, torch.Tensor]:
    ckpt = torch.load(
        run_dir / "checkpoints" / f"step={step:08d}.ckpt", map_location="cpu", weights_only=False
    )
    return {k: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_reference_run_then_patched_run(run_tiny) -> None:
    _, reference = run_tiny(*STATS)
    scalars = read_scalars(reference)
    for metric in ("name_to_name", "attr_to_name", "attr_to_text", "entropy"):
        for layer in (0, 1):
            series = scalars[f"attn/{metric}/layer_{layer}"]
            assert [step for step, _ in series] == [4, 8]  # at the evaluation schedule, on the true step
            assert all(0.0 <= v <= 1.0 for _, v in series)
    summary = json.loads((reference / "summary.json").read_text())
    assert len(summary["attention_statistics"]["entropy"]) == 2

    cli, patched = run_tiny(*patch_args(reference, 4, 4))
    # Same seed: same initial parameters and same samples, so before the start step the runs agree exactly.
    assert same(weights(patched, 0), weights(reference, 0))
    assert same(weights(patched, 4), weights(reference, 4))
    assert not same(weights(patched, 8), weights(reference, 8))
    section = json.loads((patched / "summary.json").read_text())["attention_patching"]
    assert (
        section["reference_step"] == 4 and section["optimizer_reset_at"] == 4 and section["layers"] == [0, 1]
    )
    assert not any(p.has_hooks() for p in hook_points(cli.model.model).values())


def test_mismatching_reference_is_refused_before_training(run_tiny) -> None:
    _, reference = run_tiny("--trainer.max_steps=1")
    with pytest.raises(
        ValueError, match=r"n_head: reference 2 != model 4.*d_model: reference 16 != model 32"
    ):
        run_tiny(*patch_args(reference, 0, 0), "--model.config.n_head=4", "--model.config.d_model=32")


@pytest.mark.parametrize("name", ["attention_statistics.yaml", "attention_patching.yaml"])
def test_experiment_configs_instantiate_on_tiny(name: str, tmp_path: Path) -> None:
    from factdyn.callbacks import AttentionPatching, AttentionStatistics
    from factdyn.cli import cli_main
    from tests.helpers.runs import CONFIGS, TINY

    args = ["--config", str(TINY), "--config", str(CONFIGS / "experiments" / name)]
    cli = cli_main([*args, "--trainer.logger.init_args.save_dir", str(tmp_path)], run=False)
    kinds = {type(c) for c in cli.trainer.callbacks}
    assert (AttentionStatistics if name.startswith("attention_statistics") else AttentionPatching) in kinds


def test_patching_grid_table(tmp_path: Path) -> None:
    from factdyn.analysis.patching import format_grid, patching_grid
    from factdyn.analysis.runs import find_runs

    for name, section, loss in [
        ("reference", None, 0.5),
        ("ref0_start0", {"start_step": 0, "reference_step": 0}, 0.7),
        ("ref8_start0", {"start_step": 0, "reference_step": 8}, 0.1),
        ("ref8_start8", {"start_step": 8, "reference_step": 8}, 0.3),
    ]:
        (tmp_path / name).mkdir()
        summary = {"final": {"val/attr_loss": loss}, **({"attention_patching": section} if section else {})}
        (tmp_path / name / "summary.json").write_text(json.dumps(summary))
    grid = patching_grid(find_runs(tmp_path))
    assert grid == {(0, 0): 0.7, (0, 8): 0.1, (8, 8): 0.3}
    table = format_grid(grid, 0.5, "val/attr_loss")
    assert "| 0 | 0.7000 | 0.1000 |" in table and "| 8 |  | 0.3000 |" in table
