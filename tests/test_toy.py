"""Toy associative memory: data invariants, configs, a tiny pre-train + fine-tune via `factdyn toy fit`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from factdyn.checks import ConfigError
from factdyn.cli import main, toy_cli_main
from factdyn.toy import ToyMemory, ToyMemoryData
from tests.helpers.runs import CONFIGS

TOY_CONFIGS = sorted((CONFIGS / "toy").glob("*.yaml"))


def test_pairs_are_unit_norm_disjoint_and_stable() -> None:
    data = ToyMemoryData(stage="finetune", n_pretrain=512, n_new=64, seed=1)
    old, new = data.keys["old"], data.keys["new"]
    assert old.shape == (512, 64) and new.shape == (64, 64)
    torch.testing.assert_close(torch.cat([old, new]).norm(dim=1), torch.ones(576))
    rows = {tuple(r) for r in torch.cat([old, new]).numpy().round(6)}
    assert len(rows) == 576  # no key shared between (or within) the two sets
    assert set(data.labels["old"].unique().tolist()) == set(range(30))
    # Old pairs do not depend on n_new (pre-training and fine-tuning runs see the same old pairs).
    assert torch.equal(ToyMemoryData(n_pretrain=512, seed=1).keys["old"], old)
    assert not torch.equal(ToyMemoryData(n_pretrain=512, seed=2).keys["old"], old)


def test_replay_probabilities_follow_the_weights() -> None:
    data = ToyMemoryData(stage="finetune", n_pretrain=2, n_new=1, replay_weight=2.0)
    np.testing.assert_allclose(data.sampling_probabilities(), [2 / 5, 2 / 5, 1 / 5])
    no_replay = ToyMemoryData(stage="finetune", n_pretrain=2, n_new=1)
    np.testing.assert_allclose(no_replay.sampling_probabilities(), [0, 0, 1])
    np.testing.assert_allclose(ToyMemoryData(n_pretrain=2, n_new=1).sampling_probabilities(), [0.5, 0.5, 0])
    with pytest.raises(ConfigError, match=r"data\.replay_weight: a number >= 0, got -1\.0"):
        ToyMemoryData(replay_weight=-1.0)
    with pytest.raises(
        ConfigError, match=r"data\.n_new: an integer >= 1 when data\.stage is 'finetune', got 0"
    ):
        ToyMemoryData(stage="finetune")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ToyMemoryData(stage="train"), r"data\.stage: one of 'pretrain', 'finetune', got 'train'"),
        (lambda: ToyMemory(lr=0.0), r"model\.lr: a number > 0, got 0\.0"),
        (lambda: ToyMemory(weight_decay=-0.1), r"model\.weight_decay: a number >= 0, got -0\.1"),
        (
            lambda: ToyMemory(lr_schedule="linear"),
            r"model\.lr_schedule: one of 'cosine', 'constant', got 'linear'",
        ),
        (lambda: ToyMemory(hidden=0), r"model\.hidden: an integer >= 1, got 0"),
    ],
    ids=["data.stage", "model.lr", "model.weight_decay", "model.lr_schedule", "model.hidden"],
)
def test_bad_toy_values_name_the_field_and_what_it_allows(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()


@pytest.mark.parametrize("path", TOY_CONFIGS, ids=lambda p: p.name)
def test_toy_configs_instantiate(path: Path, tmp_path: Path) -> None:
    cli = toy_cli_main(
        ["--config", str(path), "--trainer.logger.init_args.save_dir", str(tmp_path)], run=False
    )
    assert cli.model.net[0].in_features == cli.datamodule.dim == 64
    assert cli.model.net[2].out_features == cli.datamodule.n_classes == 30


def test_tiny_pretrain_then_finetune_through_factdyn_toy_fit(tmp_path: Path) -> None:
    from factdyn.analysis.runs import read_scalars
    from factdyn.run_layout import read_evaluations

    logs = tmp_path / "logs"
    common = ["--trainer.logger.init_args.save_dir", str(logs), "--data.n_pretrain", "256"]
    main(["toy", "fit", "--config", str(CONFIGS / "toy" / "pretrain.yaml"), *common,
          "--trainer.max_steps", "300", "--trainer.val_check_interval", "100"])  # fmt: skip
    pre_dir = logs / "toy" / "pretrain"
    pre = read_scalars(pre_dir)
    assert [s for s, _ in pre["toy/old_acc"]] == [0, 100, 200, 300]
    assert pre["toy/old_acc"][-1][1] > 0.9  # 256 pairs are stored in 300 steps
    assert "toy/new_acc" not in pre
    ckpt = pre_dir / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()

    main(["toy", "fit", "--config", str(CONFIGS / "toy" / "finetune.yaml"), *common,
          "--model.init_checkpoint", str(ckpt), "--data.n_new", "32", "--data.replay_weight", "0.5",
          "--trainer.max_steps", "60", "--trainer.val_check_interval", "20",
          "--trainer.logger.init_args.version", "ft"])  # fmt: skip
    ft = read_scalars(logs / "toy" / "ft")
    # The fine-tuning run starts from the pre-trained weights: same old accuracy at its step 0.
    assert ft["toy/old_acc"][0] == (0, pytest.approx(pre["toy/old_acc"][-1][1]))
    assert [s for s, _ in ft["toy/new_acc"]] == [0, 20, 40, 60]
    assert ft["toy/new_loss"][-1][1] < ft["toy/new_loss"][0][1]
    summary = json.loads((logs / "toy" / "ft" / "summary.json").read_text())
    assert summary["steps"] == 60 and "toy/old_acc" in summary["final"]

    # factdyn toy validate records into the pre-training run at its step, as factdyn validate does.
    main(
        [
            "toy",
            "validate",
            "--config",
            str(CONFIGS / "toy" / "pretrain.yaml"),
            *common,
            "--ckpt_path",
            str(ckpt),
        ]
    )
    (record,) = read_evaluations(pre_dir)
    assert record["evaluation"] == "validate" and record["step"] == 300
    assert record["metrics"]["toy/old_acc"] == pytest.approx(pre["toy/old_acc"][-1][1])
    assert sorted(p.name for p in (logs / "toy").iterdir()) == ["ft", "pretrain"]  # no new run version


def test_missing_init_checkpoint_is_reported(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["toy", "fit", "--config", str(CONFIGS / "toy" / "finetune.yaml"),
              "--trainer.logger.init_args.save_dir", str(tmp_path),
              "--model.init_checkpoint", str(tmp_path / "x"),
              "--trainer.max_steps", "2"])  # fmt: skip
    assert exit_.value.code == 2
    assert "factdyn: error: model.init_checkpoint: a checkpoint file that exists" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*tfevents*"))
