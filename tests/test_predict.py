"""``factdyn predict``: JSON lines of greedy answers beside the run, from the checkpoint's own population."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factdyn.checks import ConfigError
from factdyn.data.resources import ATTRIBUTES
from factdyn.inspection import load_run
from factdyn.inspection.predictions import select_indices
from factdyn.training.checkpoint_files import CheckpointError
from factdyn.training.evaluation_source import checkpoint_datamodule
from tests.helpers.programs import run_program

FIELDS = {
    "step", "name", "population", "individual", "attribute", "templates", "template", "prompt",
    "answer", "p_answer", "truth", "p_truth", "correct", "is_value",
}  # fmt: skip


def predict(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    return run_program(capsys, "predict", *args)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_versions(run_dir: Path) -> list[str]:
    return sorted(p.name for p in run_dir.parent.iterdir())


def test_predict_writes_one_line_per_individual_and_attribute(trained_tiny_run: Path, capsys) -> None:
    before = run_versions(trained_tiny_run)
    code, out, _ = predict(capsys, str(trained_tiny_run), "--individuals", "0:3")
    path = trained_tiny_run / "eval" / "predictions_last_train.jsonl"
    assert code == 0 and out.strip().endswith(f"-> {path}") and "18 answers for 3 individuals" in out
    rows = lines(path)
    assert [(r["individual"], r["attribute"]) for r in rows] == [(i, a) for i in range(3) for a in ATTRIBUTES]
    assert all(set(r) == FIELDS and r["step"] == 8 and r["templates"] == "heldout" for r in rows)
    run = load_run(trained_tiny_run, "cpu")
    for r in rows[:6]:
        answer = run.ask(r["individual"], r["attribute"])
        assert r["truth"] == run.facts(r["individual"])[r["attribute"]] and r["prompt"] == answer.prompt
        assert r["answer"] == answer.answer and r["p_answer"] == pytest.approx(answer.p_answer, rel=1e-4)
    assert run_versions(trained_tiny_run) == before  # no new run version


def test_every_template_names_and_out(trained_tiny_run: Path, tmp_path: Path, capsys) -> None:
    run = load_run(trained_tiny_run, "cpu")
    out = tmp_path / "answers.jsonl"
    flags = ["--individuals", "2,5", "--attributes", "major", "--template", "all", "--out", str(out)]
    assert predict(capsys, str(run.checkpoint), *flags)[0] == 0
    rows = lines(out)
    heldout = run.populations["train"].eval_templates[:, ATTRIBUTES.index("major")]
    assert [r["template"] for r in rows] == [*heldout[2], *heldout[5]]
    names = [run.person(1).name, run.person(0, "unseen").name]
    step4 = str(trained_tiny_run / "checkpoints" / "step=00000004.ckpt")
    flags = ["--names", *names, "--attributes", "company", "--templates", "training", "--template", "2"]
    assert predict(capsys, step4, *flags)[0] == 0
    rows = lines(trained_tiny_run / "eval" / "predictions_step=00000004_train+unseen.jsonl")
    assert [(r["population"], r["step"], r["templates"]) for r in rows] == [
        ("train", 4, "training"),
        ("unseen", 4, "training"),
    ]
    assert rows[0]["template"] == run.populations["train"].train_templates[1, ATTRIBUTES.index("company"), 2]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--individuals", "ten"], "--individuals: a range START:STOP"),
        (["--individuals", "3,64"], "within [0, 63] and not empty, got '3,64'"),
        (["--individuals", "70:80"], "within [0, 63] and not empty, got '70:80'"),
        (["--population", "new"], "--population: one of 'train', 'unseen', got 'new'"),
        (["--template", "first"], "--template: a template number (0 is the first of the pool) or 'all'"),
        (["--template", "5"], "template: a number in [0, 4] (heldout templates), got 5"),
        (["--attributes", "job"], "attribute: one of 'birth_date'"),
        (["--batch-size", "0"], "--batch-size: an integer >= 1, got 0"),
        (["--names", "Nobody Here Atall"], "name: the full name of an individual of this run"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    trained_tiny_run: Path, tmp_path: Path, capsys, flags: list[str], expected: str
) -> None:
    out = tmp_path / "never.jsonl"
    code, stdout, err = predict(capsys, str(trained_tiny_run), *flags, "--out", str(out))
    assert code == 2 and stdout == "" and len(err.splitlines()) == 1 and expected in err, err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_selection_is_a_python_slice_or_a_list() -> None:
    assert select_indices(":", 4) == [0, 1, 2, 3]
    assert select_indices("1:", 4) == [1, 2, 3] and select_indices("::2", 5) == [0, 2, 4]
    assert select_indices("3, 1", 4) == [3, 1]
    with pytest.raises(ConfigError):
        select_indices("2:2", 4)


def test_a_checkpoint_without_data_settings_is_one_line() -> None:
    with pytest.raises(CheckpointError, match=r"^x.ckpt: records no data settings .* population is unknown$"):
        checkpoint_datamodule("x.ckpt", {"hyper_parameters": {}})
    record = {"datamodule_hyper_parameters": {"n_individuals": 8, "n_unseen": 2, "seed": 3}}
    with pytest.raises(ConfigError, match=r"^data.n_individuals: one of .*, got 9$"):
        checkpoint_datamodule("x.ckpt", record, n_individuals=9)
    datamodule = checkpoint_datamodule("x.ckpt", record, eval_batch_size=2)
    assert (datamodule.seed, len(datamodule.populations["train"]), datamodule.eval_batch_size) == (3, 8, 2)
