"""``factdyn validate`` / ``test`` record into the run they evaluate: ``eval/``, at the checkpoint's step."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from factdyn.analysis.archive import archive_run, verify
from factdyn.analysis.runs import find_runs, read_scalars
from factdyn.checks import ConfigError
from factdyn.cli import cli_main
from factdyn.data import BiographyDataModule
from factdyn.data.exhaustive import ExhaustiveEvaluation
from factdyn.run_layout import (
    EVALUATIONS,
    evaluation_name,
    is_evaluation_curve,
    read_evaluations,
    step_filename,
)
from factdyn.training.evaluation_record import record_evaluation
from tests.helpers.runs import tiny_args

FIXED = ("--data.shuffle_sentences", "false")


@pytest.fixture(scope="module")
def fixed_order_run(tmp_path_factory) -> Path:
    """A finished tiny run trained on biographies in a fixed sentence order."""
    logs = tmp_path_factory.mktemp("evaluation_record") / "logs"
    return Path(cli_main(tiny_args(logs, *FIXED)).trainer.log_dir)


@pytest.fixture
def run_dir(fixed_order_run: Path, tmp_path: Path) -> Path:
    """A copy of the run for one test (evaluations write into it)."""
    copy = tmp_path / "logs" / "tiny" / "version_0"
    shutil.copytree(fixed_order_run, copy)
    return copy


def evaluate(subcommand: str, checkpoint: Path, *extra: str):
    """``factdyn <subcommand> --ckpt_path <checkpoint>`` with no config file."""
    return cli_main(
        [subcommand, "--ckpt_path", str(checkpoint), "--trainer.enable_progress_bar", "false", *extra]
    )


def test_validate_records_in_the_run_at_the_checkpoints_step(run_dir: Path, tmp_path: Path) -> None:
    final = json.loads((run_dir / "summary.json").read_text())["final"]
    before = sorted(p.name for p in run_dir.parent.iterdir())
    evaluate("validate", run_dir / "checkpoints" / "last.ckpt")
    evaluate("validate", run_dir / "checkpoints" / step_filename(4))
    assert sorted(p.name for p in run_dir.parent.iterdir()) == before  # no new run version
    assert not (Path.cwd() / "lightning_logs").exists()
    records = read_evaluations(run_dir)
    assert [(r["evaluation"], r["step"], r["checkpoint"]) for r in records] == [
        ("validate", 4, f"checkpoints/{step_filename(4)}"),
        ("validate", 8, "checkpoints/last.ckpt"),
    ]
    assert records[1]["metrics"]["val/attr_loss"] == pytest.approx(final["val/attr_loss"], abs=1e-5)
    assert records[0]["metrics"]["val/attr_loss"] != pytest.approx(final["val/attr_loss"], abs=1e-3)
    curve = read_scalars(run_dir / "eval" / "validate", ["val/attr_loss"])["val/attr_loss"]
    assert [step for step, _ in curve] == [4, 8]
    assert curve[1][1] == pytest.approx(final["val/attr_loss"], abs=1e-5)


def test_evaluating_again_replaces_the_record(run_dir: Path) -> None:
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    evaluate("validate", checkpoint)
    evaluate("validate", checkpoint)
    evaluate("validate", run_dir / "checkpoints" / step_filename(8))  # the same step: the same point
    assert [(r["evaluation"], r["step"]) for r in read_evaluations(run_dir)] == [("validate", 8)]
    assert len(read_scalars(run_dir / "eval" / "validate", ["val/attr_loss"])["val/attr_loss"]) == 1
    assert len(list((run_dir / "eval" / "validate").glob("events.out.tfevents.*"))) == 1


def test_shuffled_sentences_are_an_evaluation_of_their_own(run_dir: Path) -> None:
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    cli = evaluate("validate", checkpoint, "--data.shuffle_sentences", "true")
    orders = np.concatenate([b["value_attr"].numpy() for b in cli.datamodule.eval_batches["val"]])
    assert (orders != np.arange(orders.shape[1])).any(axis=1).mean() > 0.5  # shuffled, unlike training
    evaluate("validate", checkpoint)
    records = {r["evaluation"]: r for r in read_evaluations(run_dir)}
    assert set(records) == {"validate", "validate-shuffle_sentences=true"}
    assert records["validate-shuffle_sentences=true"]["settings"] == {"shuffle_sentences": True}
    assert records["validate"]["settings"] == {}
    shuffled, fixed = (records[k]["metrics"]["val/attr_loss"] for k in sorted(records, reverse=True))
    assert shuffled != pytest.approx(fixed, abs=1e-4)
    assert (run_dir / "eval" / "validate-shuffle_sentences=true").is_dir()


def test_a_population_field_is_still_refused(run_dir: Path) -> None:
    with pytest.raises(ConfigError, match="data.n_templates_train"):
        evaluate("validate", run_dir / "checkpoints" / "last.ckpt", "--data.n_templates_train", "10")
    assert not (run_dir / "eval").exists()


def test_a_checkpoint_is_required(tmp_path: Path) -> None:
    for given in ([], ["--ckpt_path", str(tmp_path / "missing.ckpt")]):
        with pytest.raises(ConfigError, match="^ckpt_path: a checkpoint file to evaluate") as error:
            cli_main(["validate", "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"), *given])
        assert "\n" not in str(error.value)
    assert not (tmp_path / "logs").exists()


def test_test_measures_every_individual_on_every_heldout_template(run_dir: Path) -> None:
    cli = evaluate("test", run_dir / "checkpoints" / "last.ckpt")
    (record,) = read_evaluations(run_dir)
    assert record["evaluation"] == "test" and record["step"] == 8
    assert {"val/attr_loss", "unseen/attr_loss"} <= set(record["metrics"])
    data = cli.datamodule
    assert len(data.test_dataloader()) == sum(1 for _ in data.test_dataloader())


def test_the_exhaustive_set_holds_each_individual_template_pair_once() -> None:
    data = BiographyDataModule(n_individuals=10, n_unseen=3, eval_batch_size=4, n_templates_eval=5)
    data.setup("test")
    sets = {"val": data.populations["train"], "unseen": data.populations["unseen"]}
    dataset = ExhaustiveEvaluation(
        data.assembler, sets, 5, 4, seed=0, shuffle_sentences=True, pad_to_multiple=1
    )
    batches = list(dataset)
    assert len(batches) == len(dataset)
    for name, population in sets.items():
        mine = [b for b in batches if b["split"] == name]
        individuals = np.concatenate([b["individual"].numpy() for b in mine])
        assert np.bincount(individuals).tolist() == [5] * len(population)
    # Slot k of an individual is its k-th held-out template in every sentence: decoded biographies differ.
    val = data.populations["train"]
    assert len({tuple(row) for row in val.templates("eval")[0]}) >= 1
    texts = [
        data.assembler.decode(
            data.assembler.assemble(
                val,
                np.array([0]),
                np.random.default_rng(0),
                split="eval",
                shuffle_sentences=False,
                template_slot=np.array([k]),
            ),
            0,
        )
        for k in range(5)
    ]
    assert len(set(texts)) == 5


def test_archive_keeps_the_evaluations_and_analysis_skips_their_curves(run_dir: Path, tmp_path: Path) -> None:
    evaluate("validate", run_dir / "checkpoints" / "last.ckpt", "--data.shuffle_sentences", "true")
    assert [r.path for r in find_runs(run_dir.parent)] == [run_dir]
    assert is_evaluation_curve(run_dir / "eval" / "validate-shuffle_sentences=true")
    dest = tmp_path / "results" / "seed_0" / "run"
    archive_run(run_dir, dest)
    assert (dest / EVALUATIONS).read_bytes() == (run_dir / EVALUATIONS).read_bytes()
    assert verify(tmp_path / "results") == []
    (dest / EVALUATIONS).write_text("{}\n")
    assert any("differs" in problem for problem in verify(tmp_path / "results"))


def test_record_names_and_non_finite_metrics(tmp_path: Path) -> None:
    assert evaluation_name("validate", {}) == "validate"
    assert evaluation_name("test", {"shuffle_sentences": True, "a": 1}) == "test-a=1-shuffle_sentences=true"
    record = {"evaluation": "validate", "step": 3, "metrics": {"x": None, "y": 1.0}}
    folder = record_evaluation(tmp_path, record)
    assert read_scalars(folder) == {"y": [(3, 1.0)]}
    assert read_evaluations(tmp_path) == [record]


def test_tensorboard_shows_each_evaluation_as_a_run_beside_the_training(run_dir: Path) -> None:
    """``tensorboard --logdir <run>``: the training run and ``eval/<name>`` under the same tags, the
    evaluation's points at its checkpoints' steps (a real server on 127.0.0.1)."""
    from urllib.parse import quote

    from tests.helpers.tensorboard_server import tensorboard_server

    for checkpoint in (step_filename(4), "last.ckpt"):
        evaluate("validate", run_dir / "checkpoints" / checkpoint, "--data.shuffle_sentences", "true")
    name = "eval/validate-shuffle_sentences=true"
    with tensorboard_server(run_dir) as tb:
        tags = tb.get("/data/plugin/scalars/tags")
        assert "val/attr_loss" in tags["."] and "val/attr_loss" in tags[name]
        points = tb.get(f"/data/plugin/scalars/scalars?tag=val/attr_loss&run={quote(name)}")
    assert [step for _, step, _ in points] == [4, 8]
    recorded = [r["metrics"]["val/attr_loss"] for r in read_evaluations(run_dir)]
    assert [value for _, _, value in points] == pytest.approx(recorded)


def test_a_run_directory_stands_for_its_last_checkpoint(run_dir: Path) -> None:
    evaluate("validate", run_dir)
    (record,) = read_evaluations(run_dir)
    assert record["checkpoint"] == "checkpoints/last.ckpt" and record["step"] == 8


def test_concurrent_records_of_one_run_are_all_kept(tmp_path: Path) -> None:
    """Two evaluations of one run finishing together (parallel campaign jobs) both keep their lines."""
    from concurrent.futures import ThreadPoolExecutor

    def record(step: int) -> None:
        record_evaluation(tmp_path, {"evaluation": "validate", "step": step, "metrics": {"x": float(step)}})

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(record, range(24)))
    assert [r["step"] for r in read_evaluations(tmp_path)] == list(range(24))
    assert [s for s, _ in read_scalars(tmp_path / "eval" / "validate")["x"]] == list(range(24))
