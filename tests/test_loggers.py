"""Runs with a CSVLogger or no logger: what TensorBoard would have shown goes to files (one line says
where), the summary names the right place, ``--ckpt_path last`` resumes, progress is printed as lines, and
the libraries' noise is gone. Each run is a real tiny ``factdyn fit``, crashed at step 6 and resumed."""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from factdyn.cli import main
from factdyn.library_noise import LIGHTNING_INFO_LOGGER
from factdyn.run_layout import CSV_METRICS, MEDIA, is_finished, last_checkpoint
from tests.helpers.runs import TINY

CRASH = ["--trainer.callbacks+=tests.helpers.fault_callbacks.CrashAt", "--trainer.callbacks.step=6"]
"""Crash at the start of step 6: last.ckpt (every 4 steps in the tiny preset) holds step 4."""


class Records(logging.Handler):
    """The messages Lightning's rank-zero logger passes on."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run(args: list[str], crash: bool) -> SimpleNamespace:
    """``factdyn <args>`` in this process: its stdout, the Lightning log lines and the warnings shown."""
    records, out = Records(), io.StringIO()
    logger = logging.getLogger(LIGHTNING_INFO_LOGGER)
    logger.addHandler(records)
    try:
        with warnings.catch_warnings(record=True) as shown, contextlib.redirect_stdout(out):
            warnings.simplefilter("always")
            if crash:
                with pytest.raises(RuntimeError, match="CrashAt"):
                    main(args)
            else:
                main(args)
    finally:
        logger.removeHandler(records)
    return SimpleNamespace(out=out.getvalue(), log=records.messages, warnings=[str(w.message) for w in shown])


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("csv")
    args = [
        "fit",
        "--config",
        str(TINY),
        "--trainer.logger=lightning.pytorch.loggers.CSVLogger",
        f"--trainer.logger.save_dir={root}",
        "--trainer.logger.name=csv",
        "--trainer.enable_progress_bar=true",
    ]
    run_dir = root / "csv" / "version_0"
    crashed = run([*args, *CRASH], crash=True)
    before = SimpleNamespace(
        metrics=csv_rows(run_dir / CSV_METRICS),
        examples=(run_dir / MEDIA / "hallucinations" / "examples.md").read_text(),
    )
    resumed = run([*args, "--ckpt_path=last"], crash=False)
    return SimpleNamespace(run_dir=run_dir, crashed=crashed, before=before, resumed=resumed)


def test_csv_logger_gets_media_files_and_one_line_saying_where(csv_run: SimpleNamespace) -> None:
    media = csv_run.run_dir / MEDIA
    examples = csv_run.before.examples
    assert "## step 4\n" in examples and "| individual | attribute |" in examples
    histogram = csv_rows(media / "exposures" / "per_individual.csv")
    assert {row["step"] for row in histogram} == {"4", "8"}
    assert sum(int(row["count"]) for row in histogram if row["step"] == "8") == 64  # every individual
    for log in (csv_run.crashed.log, csv_run.resumed.log):  # text and a histogram at every validation
        lines = [m for m in log if "takes no text, figures or histograms" in m]
        assert lines == [f"factdyn: CSVLogger takes no text, figures or histograms: they are written as "
                         f"files under {media}"]  # fmt: skip


def test_summary_names_the_csv_and_media_not_tensorboard(csv_run: SimpleNamespace) -> None:
    out = csv_run.resumed.out
    assert f"metrics: {csv_run.run_dir / CSV_METRICS}" in out
    assert f"text, figures, histograms: {csv_run.run_dir / MEDIA}" in out
    assert "tensorboard" not in out.lower()


def test_ckpt_path_last_continues_the_csv_run(csv_run: SimpleNamespace) -> None:
    assert is_finished(csv_run.run_dir) and not (csv_run.run_dir.parent / "version_1").exists()
    rows = csv_rows(csv_run.run_dir / CSV_METRICS)
    steps = [int(row["step"]) for row in rows]
    # The crashed process's rows before the checkpoint (step 4) are kept as they were, those from step 4 on
    # are written once, by the resumed process: every step once, in order, up to the last.
    kept = [row for row in csv_run.before.metrics if int(row["step"]) < 4]
    assert [{k: v for k, v in row.items() if v} for row in rows[: len(kept)]] == [
        {k: v for k, v in row.items() if v} for row in kept
    ]
    assert steps == sorted(set(steps)) and steps[-1] == 8
    assert any(row["val/attr_loss"] for row in rows if row["step"] == "4")  # step 4's validation, rerun
    text = (csv_run.run_dir / MEDIA / "hallucinations" / "examples.md").read_text()
    assert [line for line in text.splitlines() if line.startswith("## step")] == ["## step 4", "## step 8"]


def test_progress_is_one_line_every_log_step_off_a_terminal(csv_run: SimpleNamespace) -> None:
    lines = [line for line in csv_run.crashed.out.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["2/8", "4/8"]  # log_every_n_steps: 2
    assert "loss " in lines[0] and "phase 1 (statistics)" in lines[0] and "val/attr_loss" not in lines[0]
    assert "val/attr_loss " in lines[1] and "(step 4)" in lines[1]  # printed after that step's validation
    resumed = [line.split()[1] for line in csv_run.resumed.out.splitlines() if line.startswith("step ")]
    assert resumed == ["6/8", "8/8"]
    assert "\r" not in csv_run.crashed.out + csv_run.resumed.out


def test_no_litlogger_tip_and_no_pytree_deprecation(csv_run: SimpleNamespace) -> None:
    for process in (csv_run.crashed, csv_run.resumed):
        assert not [m for m in process.log if "litlogger" in m.lower()]
        assert not [w for w in process.warnings if "LeafSpec" in w]
        assert any("GPU available" in m for m in process.log)  # Lightning's other lines still show


def test_without_a_logger_runs_go_under_logs_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["fit", "--config", str(TINY), "--trainer.logger=false"]
    run([*args, *CRASH], crash=True)
    run_dir = Path("logs") / "factdyn" / "version_0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs"]  # nothing in the working directory
    assert last_checkpoint(run_dir).is_file()
    resumed = run([*args, "--ckpt_path=last"], crash=False)
    assert is_finished(run_dir) and sorted(p.name for p in run_dir.parent.iterdir()) == ["version_0"]
    assert "metrics: no logger (trainer.logger false)" in resumed.out
    assert (run_dir / MEDIA / "hallucinations" / "examples.md").is_file()


def test_ckpt_path_last_with_a_logger_keeping_no_run_directory_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["fit", "--config", str(TINY), "--trainer.logger=lightning.pytorch.loggers.MLFlowLogger",
              "--ckpt_path=last"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2 and len(err) == 1
    assert err[0].startswith("factdyn: error: ckpt_path: 'last' only for runs with a run directory")
    assert "TensorBoardLogger or CSVLogger" in err[0] and list(tmp_path.iterdir()) == []
