"""The committed evidence: REPRODUCTION.md and the README say what the committed results archive says, and
every archived file is what was archived."""

from __future__ import annotations

import re

import pytest

from factdyn.analysis.archive import RUN_BUDGET_BYTES, verify
from factdyn.analysis.evidence.blocks import block_names
from factdyn.analysis.evidence.command import regenerated
from factdyn.analysis.report import make_report
from factdyn.analysis.runs import find_runs
from factdyn.run_layout import ARCHIVE_RECORD
from tests.helpers.runs import REPO

RESULTS = REPO / "results"
DOCUMENTS = ["REPRODUCTION.md", "README.md"]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_generated_blocks_match_the_committed_archive(name: str) -> None:
    path = REPO / name
    assert block_names(path.read_text()), f"{name} has no generated blocks"
    assert regenerated(path, RESULTS) == path.read_text(), (
        f"{name} differs from what `factdyn evidence` generates from results/: run it and commit the result"
    )


def test_every_archived_file_matches_its_recorded_hash() -> None:
    assert verify(RESULTS) == []


def test_archived_runs_are_finished_and_within_the_size_budget() -> None:
    records = sorted(RESULTS.rglob(ARCHIVE_RECORD))
    assert records
    runs = find_runs(RESULTS)
    assert len(runs) == len(records) and all(run.finished for run in runs)
    for record in records:
        size = sum(p.stat().st_size for p in record.parent.iterdir())
        assert size <= RUN_BUDGET_BYTES, f"{record.parent}: {size} bytes"


REPORTS = sorted(
    p.parent for p in (REPO / "reports").glob("*/report.md") if (RESULTS / p.parent.name).is_dir()
)


@pytest.mark.parametrize("report", REPORTS, ids=lambda p: p.name)
def test_committed_reports_regenerate_from_the_archive(report, tmp_path, monkeypatch) -> None:
    """Each reports/<experiment>/report.md of an archived experiment is what `factdyn report` writes from
    the archive (scripts/reports_from_results.sh): its title and inputs are read from its first lines."""
    monkeypatch.chdir(REPO)
    lines = (report / "report.md").read_text().splitlines()
    title = lines[0].removeprefix("# ")
    inputs = re.findall(r"`([^`]+)`", next(line for line in lines if " runs from: " in line))
    written = make_report(inputs, tmp_path, title)
    assert written.markdown.read_text() == (report / "report.md").read_text()
    assert {f"{name}.png" for name in written.figures} <= {p.name for p in report.glob("*.png")}
