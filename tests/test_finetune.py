"""Fine-tuning on new individuals from a pre-trained checkpoint, end to end on the tiny preset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from factdyn.cli import cli_main
from tests.helpers.runs import CONFIGS, tiny_args

FINETUNE = str(CONFIGS / "experiments" / "finetune.yaml")


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
    for tag in (
        "ft_old/attr_loss",
        "ft_old/attr_acc",
        "ft_new/attr_loss",
        "ft_new/attr_acc",
        "unseen/attr_loss",
    ):
        assert final[tag] is not None, tag
    assert "val/attr_loss" not in final
    assert 0 < final["replay/fraction"] < 1


def test_finetune_refuses_a_checkpoint_of_another_architecture(run_tiny, tmp_path: Path) -> None:
    _, pre_dir = run_tiny()
    with pytest.raises(ValueError, match=r"model.init_checkpoint: .*\(d_model: checkpoint 16 != model 32\)"):
        _finetune(tmp_path, pre_dir / "checkpoints" / "last.ckpt", "--model.config.d_model", "32")


def test_eval_prefixes_must_name_eval_sets(tmp_path: Path) -> None:
    expected = (
        r"model.eval_prefixes: a mapping whose keys are among \[.val., .unseen., .new.\], "
        r"got \{.vall.: .x.\}"
    )
    with pytest.raises(ValueError, match=expected):
        cli_main(tiny_args(tmp_path, "--model.eval_prefixes", "{vall: x}")[1:], run=False)


@pytest.mark.parametrize("keep", [True, False])
def test_init_optimizer_state_takes_adamw_moments_only_when_asked(
    run_tiny, tmp_path: Path, keep: bool
) -> None:
    _, pre_dir = run_tiny()
    ckpt = pre_dir / "checkpoints" / "last.ckpt"
    ft = _finetune(tmp_path, ckpt, "--model.init_optimizer_state", str(keep).lower())
    step0_path = Path(ft.trainer.log_dir) / "checkpoints" / "step=00000000.ckpt"
    step0 = torch.load(step0_path, weights_only=False)["optimizer_states"][0]["state"]
    pre = torch.load(ckpt, weights_only=False)["optimizer_states"][0]["state"]
    if keep:  # the fine-tuning run's AdamW starts with the pre-training moments and step count
        assert step0.keys() == pre.keys()
        for i, state in pre.items():
            torch.testing.assert_close(step0[i]["exp_avg"], state["exp_avg"])
            torch.testing.assert_close(step0[i]["step"], state["step"])
    else:  # a fresh AdamW: no moments before its first step
        assert step0 == {}
