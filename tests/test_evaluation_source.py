"""``factdyn validate`` / ``test`` from a checkpoint alone evaluate on the checkpoint's own population."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factdyn.checks import ConfigError
from factdyn.cli import LINK_SOURCES, cli_main
from factdyn.training.evaluation_source import data_defaults, refuse_other_population
from tests.helpers.runs import tiny_args

COMPARED = ("val/attr_loss", "val/attr_acc", "unseen/attr_loss", "unseen/attr_acc")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A finished tiny run (its summary.json holds the final validation)."""
    logs = tmp_path_factory.mktemp("evaluation_source") / "logs"
    return Path(cli_main(tiny_args(logs)).trainer.log_dir)


def evaluate(subcommand: str, run_dir: Path, logs: Path, *extra: str):
    """``factdyn <subcommand> --ckpt_path <run>/checkpoints/last.ckpt`` with no config file."""
    args = [subcommand, "--ckpt_path", str(run_dir / "checkpoints" / "last.ckpt")]
    return cli_main([*args, "--trainer.logger.init_args.save_dir", str(logs), *extra])


@pytest.mark.parametrize("subcommand", ["validate", "test"])
def test_checkpoint_alone_gives_the_runs_final_validation(
    tiny_run: Path, tmp_path: Path, subcommand: str
) -> None:
    final = json.loads((tiny_run / "summary.json").read_text())["final"]
    cli = evaluate(subcommand, tiny_run, tmp_path, "--trainer.enable_progress_bar", "false")
    assert cli.datamodule.hparams.n_individuals == 64 and cli.datamodule.hparams.n_unseen == 16
    for tag in COMPARED:
        measured = float(cli.trainer.callback_metrics[tag])
        if subcommand == "validate":  # the run's own evaluation sample
            assert measured == pytest.approx(final[tag], abs=1e-5), tag
        else:  # test: every individual on every held-out template, of the same population
            assert measured != pytest.approx(final[tag], abs=1e-6) or tag.endswith("acc"), tag


@pytest.mark.parametrize(
    ("flags", "parts"),
    [
        (["--data.n_individuals", "128"], ["data.n_individuals: 64 as in the checkpoint", "got 128"]),
        (["--seed_everything", "3"], ["data.seed (linked from seed_everything): 0 as in", "got 3"]),
        (
            ["--data.n_unseen", "8", "--data.n_templates_train", "10"],
            ["data.n_unseen, data.n_templates_train: 16, 20 as in", "got (8, 10)"],
        ),
    ],
)
def test_a_contradicting_population_is_one_line(
    tiny_run: Path, tmp_path: Path, flags: list[str], parts: list[str]
) -> None:
    with pytest.raises(ConfigError) as error:
        evaluate("validate", tiny_run, tmp_path / "logs", *flags)
    message = str(error.value)
    assert "\n" not in message and all(part in message for part in parts), message
    assert not (tmp_path / "logs").exists()  # refused before anything is built or written


def test_execution_only_settings_may_differ(tiny_run: Path, tmp_path: Path) -> None:
    flags = ["--data.eval_batch_size", "4", "--data.n_val_sequences", "8", "--data.batch_size", "2"]
    cli = evaluate("validate", tiny_run, tmp_path, "--trainer.enable_progress_bar", "false", *flags)
    assert cli.datamodule.hparams.n_val_sequences == 8 and cli.datamodule.eval_batch_size == 4
    assert cli.datamodule.hparams.n_individuals == 64
    assert len(cli.datamodule.eval_batches["val"]) == 2


def test_a_config_of_the_same_population_is_accepted(tiny_run: Path, tmp_path: Path) -> None:
    ckpt = str(tiny_run / "checkpoints" / "last.ckpt")
    cli = cli_main(tiny_args(tmp_path, "--ckpt_path", ckpt, subcommand="validate"))
    assert "val/attr_loss" in cli.trainer.callback_metrics


def test_defaults_come_from_the_datamodule_record() -> None:
    checkpoint = {"datamodule_hyper_parameters": {"n_individuals": 64, "seed": 5, "from_elsewhere": 1}}
    assert data_defaults(checkpoint, {"n_individuals", "seed"}) == {
        "data.n_individuals": 64,
        "seed_everything": 5,
    }
    assert data_defaults({"hyper_parameters": {"lr": 1.0}}, {"n_individuals"}) == {}


def test_unrecorded_fields_are_not_compared() -> None:
    checkpoint = {"datamodule_hyper_parameters": {"n_individuals": 64}, "global_step": 8}
    refuse_other_population("x.ckpt", checkpoint, {"n_individuals": 64, "n_unseen": 3}, LINK_SOURCES)
    with pytest.raises(ConfigError, match=r"^data.n_individuals: 64 as in the checkpoint .*x.ckpt.*got 65$"):
        refuse_other_population("x.ckpt", checkpoint, {"n_individuals": 65}, LINK_SOURCES)
