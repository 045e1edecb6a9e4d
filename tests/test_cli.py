"""End to end through the ``factdyn`` CLI on the tiny preset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from factdyn.analysis.runs import read_scalars
from factdyn.cli import cli_main
from factdyn.training.module import FactLearner
from tests.helpers.runs import tiny_args

REQUIRED_TAGS = [
    "train/loss",
    "train/attr_loss",
    "val/attr_loss",
    "val/attr_acc",
    "unseen/attr_loss",
    "unseen/attr_acc",
    "baseline/attr_loss",
    "val/attr_loss/birth_date",
    "val/attr_acc/current_location",
]


def test_tiny_fit_writes_events_summary_config_and_checkpoints(run_tiny) -> None:
    cli, run_dir = run_tiny()
    assert (run_dir / "config.yaml").exists()
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["data"]["n_individuals"] == 64
    hparams = yaml.safe_load((run_dir / "hparams.yaml").read_text())
    assert (
        hparams["config"]["vocab_size"] == cli.datamodule.vocab_size
    )  # values linked at instantiation are saved too
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 8 and summary["n_individuals"] == 64 and summary["seed"] == 0
    assert summary["baseline_attr_loss"] == pytest.approx(6.785, abs=1e-3)
    assert summary["wall_seconds"] > 0
    split = summary["time_split"]  # 2 evaluations and 6 checkpoint writes, each part of the wall time
    assert 0 < split["validation_seconds"] < summary["wall_seconds"]
    assert 0 < split["checkpoint_seconds"] < summary["wall_seconds"]
    for tag in REQUIRED_TAGS:
        assert summary["final"][tag] is not None, tag
    scalars = read_scalars(run_dir)
    assert set(REQUIRED_TAGS) <= set(scalars)
    assert [step for step, _ in scalars["val/attr_loss"]] == [4, 8]  # evaluated at the steps they measure
    ckpts = sorted(p.name for p in (run_dir / "checkpoints").glob("*.ckpt"))
    assert ckpts == ["last.ckpt", *(f"step={s:08d}.ckpt" for s in (0, 1, 2, 4, 8))]
    assert torch.load(run_dir / "checkpoints" / "step=00000004.ckpt", weights_only=False)["global_step"] == 4


def test_checkpoint_loads_without_the_cli(run_tiny) -> None:
    cli, run_dir = run_tiny()
    model = FactLearner.load_from_checkpoint(run_dir / "checkpoints" / "last.ckpt", map_location="cpu")
    assert model.hparams.config["vocab_size"] == cli.datamodule.vocab_size
    assert model.hparams.config["max_seq_len"] == cli.datamodule.max_seq_len
    assert model.hparams.tokenizer_fingerprint == cli.datamodule.tokenizer.fingerprint
    assert model.baseline_attr_loss == pytest.approx(cli.datamodule.baseline_attr_loss)
    tokens = cli.datamodule.eval_batches["val"][0]["tokens"]
    model.eval()
    cli.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(tokens), cli.model(tokens))


def test_validate_and_test_subcommands(run_tiny, tmp_path: Path) -> None:
    _, run_dir = run_tiny()
    ckpt = str(run_dir / "checkpoints" / "last.ckpt")
    for sub in ("validate", "test"):
        cli = cli_main(tiny_args(tmp_path / sub, "--ckpt_path", ckpt, subcommand=sub))
        assert "val/attr_loss" in cli.trainer.callback_metrics


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data.n_individuals", "-3"], "data.n_individuals"),
        (["--data.n_templates_train", "22"], "data.n_templates_train"),
        (["--data.sampler", "NoSuchSampler"], "sampler"),
        (["--model.config.n_head", "3"], "model.config.n_head"),
        (["--model.lr", "-1"], "model.lr"),
    ],
)
def test_bad_input_fails_before_training(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    with pytest.raises((SystemExit, ValueError, TypeError)) as err:
        cli_main(tiny_args(tmp_path / "logs", *args))
    text = str(err.value) + capsys.readouterr().err
    assert message in text
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").rglob("*.ckpt"))
