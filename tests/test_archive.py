"""``factdyn archive``: archived runs read as the live ones, names, hashes, and what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factdyn import run_layout
from factdyn.analysis.archive import archive, archive_name, verify
from factdyn.analysis.report import make_report
from factdyn.analysis.runs import Run, find_runs, read_scalars
from factdyn.cli import main as factdyn_main
from tests.test_report import phase_curves, write_run


def finished_run(root: Path, name: str, seed: int = 0) -> Path:
    config = {"seed_everything": seed, "data": {"n_individuals": 100, "batch_size": 4}}
    summary = {"steps": 300, "n_individuals": 100, "final": {"val/attr_loss": 1.0}}
    return write_run(root, name, config, phase_curves(120, 300), summary)


def test_an_archived_real_run_reads_as_the_live_run(run_tiny, tmp_path: Path) -> None:
    _, run_dir = run_tiny("--trainer.max_steps", "6", "--trainer.val_check_interval", "3")
    done = archive([run_dir], tmp_path / "results")
    dest = done[0].dest
    assert dest == tmp_path / "results" / run_dir.parent.name
    assert read_scalars(dest) == read_scalars(run_dir)
    for name in (run_layout.CONFIG, run_layout.SUMMARY, run_layout.SAMPLER, run_layout.EXPOSURES):
        assert (dest / name).read_bytes() == (run_dir / name).read_bytes()
    assert not list(dest.glob(run_layout.EVENTS_GLOB)) and not (dest / run_layout.CHECKPOINT_DIR).exists()
    assert Run.load(dest).finished and verify(dest) == []
    live, kept = make_report([run_dir], tmp_path / "live"), make_report([dest], tmp_path / "kept")
    assert set(live.figures) == set(kept.figures) and live.figures
    live_md = live.markdown.read_text().replace(str(run_dir), "RUN").replace(run_dir.parent.name, "RUN")
    kept_md = kept.markdown.read_text().replace(str(dest), "RUN").replace(dest.name, "RUN")
    assert live_md == kept_md


def test_archive_names_drop_a_sweeps_version_0_and_keep_the_path_below_the_given_folder(
    tmp_path: Path,
) -> None:
    sweep = tmp_path / "logs" / "sweeps" / "zipf"
    runs = [finished_run(sweep, f"zipf-alpha={a}-seed=0") for a in (0.4, 0.8)]
    done = archive([sweep], tmp_path / "results" / "zipf")
    assert sorted(r.dest.name for r in done) == ["zipf-alpha=0.4-seed=0", "zipf-alpha=0.8-seed=0"]
    assert archive_name(runs[0], runs[0]) == Path("zipf-alpha=0.4-seed=0")
    assert archive_name(runs[0], runs[0].parent) == Path("zipf-alpha=0.4-seed=0")
    plain = tmp_path / "logs" / "patching_seed0" / "reference"
    plain.mkdir(parents=True)
    assert archive_name(plain, plain) == Path("reference")
    assert archive_name(tmp_path / "logs/quickstart/version_3", tmp_path / "logs") == Path(
        "quickstart/version_3"
    )


def test_archiving_is_deterministic_and_replaces_the_old_copy(tmp_path: Path) -> None:
    run_dir = finished_run(tmp_path / "logs", "a")
    first = archive([run_dir], tmp_path / "results")[0].dest
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    (first / "stale.txt").write_text("left over")
    again = archive([run_dir], tmp_path / "results")[0].dest
    assert {p.name: p.read_bytes() for p in again.iterdir()} == before
    assert len(find_runs(tmp_path / "results")) == 1


def test_unfinished_runs_are_skipped_and_nothing_finished_is_an_error(tmp_path: Path, capsys) -> None:
    finished_run(tmp_path / "logs", "done")
    unfinished = finished_run(tmp_path / "logs", "killed")
    run_layout.summary_path(unfinished).unlink()
    done = archive([tmp_path / "logs"], tmp_path / "results")
    assert [r.dest.name for r in done] == ["done"]
    assert "skipped" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no finished run"):
        archive([unfinished], tmp_path / "other")


def test_verify_finds_an_edited_a_missing_and_an_unrecorded_file(tmp_path: Path) -> None:
    dest = archive([finished_run(tmp_path / "logs", "a")], tmp_path / "results")[0].dest
    assert verify(tmp_path / "results") == []
    summary = json.loads((dest / run_layout.SUMMARY).read_text())
    summary["final"]["val/attr_loss"] = 0.5
    (dest / run_layout.SUMMARY).write_text(json.dumps(summary))
    (dest / run_layout.CONFIG).unlink()
    (dest / "notes.txt").write_text("hand-written")
    problems = verify(tmp_path / "results")
    assert len(problems) == 3
    assert any("summary.json: content differs" in p for p in problems)
    assert any("config.yaml: recorded but missing" in p for p in problems)
    assert any("notes.txt: not recorded" in p for p in problems)


@pytest.mark.parametrize(
    "case, message",
    [
        ("collision", "would both be archived as"),
        ("archive_of_archive", "is already an archived run"),
        ("missing", "does not exist"),
        ("no_to", "give run directories and --to"),
        ("other_source", "pass --replace"),
    ],
)
def test_bad_archive_commands_are_one_line_errors(tmp_path: Path, capsys, case: str, message: str) -> None:
    a = finished_run(tmp_path / "logs" / "s0", "reference")
    b = finished_run(tmp_path / "logs" / "s1", "reference")
    results = tmp_path / "results"
    argv = {
        "collision": ["archive", str(a.parent.parent), str(b.parent.parent), "--to", str(results)],
        "archive_of_archive": ["archive", str(results / "seed"), "--to", str(tmp_path / "again")],
        "missing": ["archive", str(tmp_path / "nowhere"), "--to", str(results)],
        "no_to": ["archive", str(a)],
        "other_source": ["archive", str(b), "--to", str(results)],
    }[case]
    if case in ("archive_of_archive", "other_source"):
        archive([a], results / "seed" if case == "archive_of_archive" else results)
    with pytest.raises(SystemExit) as exit_info:
        factdyn_main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_replace_overwrites_a_copy_from_another_source(tmp_path: Path) -> None:
    a = finished_run(tmp_path / "logs" / "s0", "reference")
    b = finished_run(tmp_path / "logs" / "s1", "reference", seed=1)
    archive([a], tmp_path / "results")
    dest = archive([b], tmp_path / "results", replace=True)[0].dest
    assert "s1" in json.loads((dest / run_layout.ARCHIVE_RECORD).read_text())["source"]


def test_verify_command_exits_1_on_a_changed_file(tmp_path: Path, capsys) -> None:
    dest = archive([finished_run(tmp_path / "logs", "a")], tmp_path / "results")[0].dest
    factdyn_main(["archive", "--verify", str(tmp_path / "results")])
    assert "every file matches" in capsys.readouterr().out
    (dest / run_layout.SUMMARY).write_text("{}")
    with pytest.raises(SystemExit) as exit_info:
        factdyn_main(["archive", "--verify", str(tmp_path / "results")])
    assert exit_info.value.code == 1
