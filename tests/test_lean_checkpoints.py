"""Lean scheduled checkpoints (``checkpoints.optimizer_state: false``): a third of the size, nothing lost.

They drop AdamW's moments only. ``last.ckpt`` keeps everything an exact resume needs; a resume never starts
from a lean file; patching references and fine-tuning starts read lean files as they read full ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from factdyn.checks import ConfigError
from factdyn.cli import cli_main
from factdyn.interp.patching import load_reference
from factdyn.training.checkpoint_files import load_verified
from factdyn.training.run_directory import ResumeError
from tests.helpers.runs import CONFIGS, tiny_args

LEAN = ("--checkpoints.optimizer_state", "false")


def test_scheduled_checkpoints_drop_only_the_optimizer_state(run_tiny) -> None:
    _, run_dir = run_tiny(*LEAN)
    checkpoints = run_dir / "checkpoints"
    scheduled = sorted(checkpoints.glob("step=*.ckpt"))
    assert [p.name for p in scheduled] == [f"step={s:08d}.ckpt" for s in (0, 1, 2, 4, 8)]
    last = load_verified(checkpoints / "last.ckpt")
    assert last["optimizer_states"] and last["factdyn"]["optimizer_state"] is True
    for path in scheduled:
        lean = load_verified(path)
        assert "optimizer_states" not in lean and lean["factdyn"]["optimizer_state"] is False
        # Everything else a reference or an analysis reads is there.
        assert {"state_dict", "hyper_parameters", "callbacks", "loops", "global_step"} <= set(lean)
    final = load_verified(checkpoints / "step=00000008.ckpt")
    for name, value in last["state_dict"].items():
        torch.testing.assert_close(final["state_dict"][name], value, msg=name)
    assert (checkpoints / "step=00000008.ckpt").stat().st_size < 0.6 * (
        checkpoints / "last.ckpt"
    ).stat().st_size
    # Not a hard link: the two files of step 8 differ in content.
    assert (checkpoints / "step=00000008.ckpt").stat().st_ino != (checkpoints / "last.ckpt").stat().st_ino


def test_a_resume_never_starts_from_a_lean_checkpoint(run_tiny, tmp_path: Path) -> None:
    _, run_dir = run_tiny(*LEAN)
    step4 = run_dir / "checkpoints" / "step=00000004.ckpt"
    with pytest.raises(ConfigError, match=r"ckpt_path: a checkpoint with its optimizer state"):
        cli_main(tiny_args(tmp_path / "logs", *LEAN, "--ckpt_path", str(step4)))
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"garbled")  # only lean ones are left
    (run_dir / "summary.json").unlink()  # interrupted: a finished run is not resumed at all
    with pytest.raises(ResumeError, match="no valid checkpoint .*lean scheduled ones"):
        cli_main(tiny_args(tmp_path / "logs", *LEAN, "--ckpt_path", "last"))


def test_lean_checkpoints_serve_as_references_and_fine_tuning_starts(run_tiny, tmp_path: Path) -> None:
    cli, run_dir = run_tiny(*LEAN)
    lean = run_dir / "checkpoints" / "step=00000008.ckpt"
    reference = load_reference(lean)
    tokens = torch.randint(3, cli.model.config.vocab_size, (2, 10))
    cli.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(reference.model(tokens), cli.model.model(tokens))
    finetune = [
        "--config",
        str(CONFIGS / "experiments" / "finetune.yaml"),
        "--model.init_checkpoint",
        str(lean),
    ]
    finetune += ["--data.n_new", "24", "--data.n_new_sequences", "16", "--trainer.max_steps", "2"]
    ft = cli_main(tiny_args(tmp_path / "ft", *finetune))
    assert ft.trainer.global_step == 2
    with pytest.raises(ConfigError, match="model.init_optimizer_state: false for a checkpoint without"):
        cli_main(tiny_args(tmp_path / "ft2", *finetune, "--model.init_optimizer_state", "true"))
