"""Fine-tuning on new individuals from a pre-trained checkpoint, end to end on the tiny preset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from factdyn.analysis.runs import read_scalars
from factdyn.cli import cli_main
from tests.helpers.runs import CONFIGS, tiny_args

FINETUNE = str(CONFIGS / "experiments" / "finetune.yaml")
EVAL_TAGS = ("ft_old/attr_loss", "ft_old/attr_acc", "ft_new/attr_loss", "ft_new/attr_acc", "unseen/attr_loss")
"""What a fine-tuning run evaluates: the pre-training and the new individuals, and the unseen ones."""


def _finetune(tmp_path: Path, ckpt: Path, *extra: str):
    args = tiny_args(tmp_path / "ft", "--config", FINETUNE, "--model.init_checkpoint", str(ckpt))
    args += ["--data.n_new", "24", "--data.n_new_sequences", "16", "--trainer.max_steps", "4"]
    args += ["--trainer.val_check_interval", "2", "--trainer.logger.init_args.save_dir", str(tmp_path / "ft")]
    return cli_main([*args, *extra])


def test_finetune_starts_from_the_checkpoint_and_tracks_old_and_new(run_tiny, tmp_path: Path) -> None:
    pre, pre_dir = run_tiny()
    ckpt = pre_dir / "checkpoints" / "last.ckpt"
    ft = _finetune(tmp_path, ckpt, "--data.sampler.replay_weight", "0.5")
    run_dir = Path(ft.trainer.log_dir)
    step0 = torch.load(run_dir / "checkpoints" / "step=00000000.ckpt", weights_only=False)["state_dict"]
    pre_state = torch.load(ckpt, weights_only=False)["state_dict"]
    for name, value in pre_state.items():
        if name.startswith("model."):
            torch.testing.assert_close(step0[name], value, msg=name)
    # The pre-training population is the same: the fine-tuning stream replays exactly those individuals.
    assert (ft.datamodule.populations["train"].names == pre.datamodule.populations["train"].names).all()
    final = json.loads((run_dir / "summary.json").read_text())["final"]
    for tag in EVAL_TAGS:
        assert final[tag] is not None, tag
    assert "val/attr_loss" not in final
    assert 0 < final["replay/fraction"] < 1
    # Step 0 is the pre-trained model, evaluated before any update (ValidationAtStart): on the old
    # individuals it measures what the pre-training run's last evaluation measured.
    scalars, pre_scalars = read_scalars(run_dir), read_scalars(pre_dir)
    for tag in EVAL_TAGS:
        assert scalars[tag][0][0] == 0, tag
    assert scalars["ft_old/attr_loss"][0][1] == pytest.approx(pre_scalars["val/attr_loss"][-1][1], rel=1e-5)
    assert [s for s, _ in scalars["ft_new/attr_loss"]] == [0, 2, 4]
    assert pre_scalars["val/attr_loss"][0][0] == 4  # a pre-training run does not evaluate step 0 by default


def test_validation_at_start_always_evaluates_the_initial_model(run_tiny) -> None:
    _, run_dir = run_tiny("--validation_at_start.when", "always")
    scalars = read_scalars(run_dir)
    assert [s for s, _ in scalars["val/attr_loss"]] == [0, 4, 8]
    assert [s for s, _ in scalars["train/loss"]] == [1, 3, 5, 7]  # training logs keep their steps


@pytest.mark.slow
def test_the_step_0_evaluation_changes_nothing_else(run_tiny, tmp_path: Path) -> None:
    _, pre_dir = run_tiny()
    ckpt = pre_dir / "checkpoints" / "last.ckpt"
    runs = {}
    for when in ("never", "init_checkpoint"):
        ft = _finetune(tmp_path / when, ckpt, "--validation_at_start.when", when)
        runs[when] = read_scalars(ft.trainer.log_dir)
    without, with_start = runs["never"], runs["init_checkpoint"]
    assert without.keys() == with_start.keys()
    for tag, points in without.items():
        extra = dict(with_start[tag])
        assert all(extra.pop(step) == value for step, value in points), tag
        # Only the step-0 evaluation is new: every evaluation metric, and what callbacks log with it.
        assert list(extra) == ([0] if tag.startswith(("ft_", "unseen/", "baseline/")) else list(extra)), tag
        assert list(extra) in ([], [0]), tag
