"""The knowledge panel's computations and report on a hand-made panel table (no training)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from factdyn.analysis.panel import read_run_panel, roles, select, summarize
from factdyn.analysis.report import make_report
from factdyn.dynamics.panel import (
    crossing,
    exposure_edges,
    first_known_exposures,
    known_given_exposures,
    median_first_known,
)
from factdyn.dynamics.panel_table import format_rows, header, known_bitmask, read_panel, write_member
from factdyn.run_layout import PANEL

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
F, T = False, True
# Two individuals (3 and 7), two attributes, four evaluations.
STEPS = [10, 20, 30, 40]
INDIVIDUALS = np.array([3, 7])
EXPOSURES = np.array([[1, 0], [2, 2], [3, 4], [4, 6]])  # (E, P)
KNOWN = np.array(
    [
        [[F, F], [F, F]],
        [[T, T], [F, F]],
        [[F, T], [T, F]],
        [[T, T], [T, F]],
    ]
)  # (E, P, A): individual 3's first attribute is forgotten at step 30, 7's second is never known
LOSS = np.array([[[5.0, 5.0], [6.0, 6.0]], [[0.1, 0.2], [4.0, 4.0]], [[3.0, 0.05], [0.3, 4.5]],
                 [[0.01, 0.0], [0.2, 5.0]]], dtype=np.float32)  # fmt: skip


def write_table(path: Path, roles: tuple[str, str] = ("train", "train"), buckets=(0, 0)) -> Path:
    write_member(path, header(("a", "b")), append=False)
    for e, step in enumerate(STEPS):
        rows = format_rows(
            step, INDIVIDUALS, np.array(roles), np.array(buckets), EXPOSURES[e], KNOWN[e], LOSS[e]
        )
        write_member(path, rows, append=True)
    return path


def test_the_file_round_trips(tmp_path: Path) -> None:
    table = read_panel(write_table(tmp_path / PANEL))
    assert table.attributes == ("a", "b") and len(table) == 8
    assert table.steps().tolist() == STEPS
    steps, individuals, known = table.grid(table.known)
    assert individuals.tolist() == [3, 7] and np.array_equal(known, KNOWN)
    _, _, exposures = table.grid(table.exposures)
    assert np.array_equal(exposures, EXPOSURES)
    _, _, loss = table.grid(table.loss)
    np.testing.assert_allclose(loss, LOSS, atol=0.005)
    assert known_bitmask(np.array([[T, F, T], [F, F, F], [T, T, T]])).tolist() == [5, 0, 7]


def test_a_file_that_is_not_a_panel_is_named(tmp_path: Path) -> None:
    path = tmp_path / "other.csv.gz"
    write_member(path, "individual,exposures\n1,2\n", append=False)
    with pytest.raises(ValueError, match="other.csv.gz: not a knowledge panel file"):
        read_panel(path)


def test_known_given_exposures_bins_every_panel_point() -> None:
    curve = known_given_exposures(EXPOSURES, KNOWN, edges=np.arange(8))
    assert curve.points.tolist() == [1, 1, 2, 1, 2, 0, 1]
    np.testing.assert_allclose(curve.known, [0, 0, 0.5, 0.5, 0.75, np.nan, 0.5])
    np.testing.assert_allclose(curve.mean_exposures, [0, 1, 2, 3, 4, np.nan, 6])
    whole = known_given_exposures(EXPOSURES, KNOWN, unit="individual", edges=np.arange(8))
    np.testing.assert_allclose(whole.known, [0, 0, 0.5, 0, 0.5, np.nan, 0])
    assert np.array_equal(curve.filled().lo, [0, 1, 2, 3, 4, 6])


def test_exposure_bins_are_unit_wide_then_grow() -> None:
    assert exposure_edges(3).tolist() == [0, 1, 2, 3, 4]
    edges = exposure_edges(1000)
    assert edges[:17].tolist() == list(range(17)) and edges[-1] > 1000 >= edges[-2]
    assert (np.diff(edges[16:]) >= 1).all() and edges[17] == 20


def test_first_known_is_when_a_fact_became_known_for_good() -> None:
    first = first_known_exposures(EXPOSURES, KNOWN)
    # 3/a: known at 20, forgotten at 30, known again at 40 (4 exposures); 3/b: from 20 (2); 7/a: from 30
    # (4); 7/b: never.
    np.testing.assert_array_equal(first, [[4, 2], [4, np.nan]])
    np.testing.assert_array_equal(first_known_exposures(EXPOSURES, KNOWN, unit="individual"), [[4], [np.nan]])
    assert median_first_known(first) == 4.0  # 2, 4, 4, never
    assert median_first_known(np.array([1.0, np.nan, np.nan])) is None  # fewer than half ever known


def test_the_fifty_percent_point_interpolates_between_bins() -> None:
    curve = known_given_exposures(EXPOSURES, KNOWN, edges=np.arange(8))
    assert crossing(curve) == 2.0  # 0 at one exposure, 0.5 at two
    assert crossing(curve, 0.6) == pytest.approx(3.4)  # 0.5 at three, 0.75 at four
    assert crossing(curve, 0.9) is None
    assert crossing(known_given_exposures(EXPOSURES, np.ones_like(KNOWN), edges=np.arange(8))) == 0.0


def write_run(root: Path, name: str, seed: int, n: int, **table_args) -> Path:
    run_dir = root / name / "version_0"
    run_dir.mkdir(parents=True)
    config = {"seed_everything": seed, "data": {"n_individuals": n, "batch_size": 8}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    (run_dir / "summary.json").write_text(json.dumps({"steps": 40, "n_individuals": n, "seed": seed}))
    write_table(run_dir / PANEL, **table_args)
    return run_dir


def test_summaries_by_role_and_bucket(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, "ft", 0, 100, roles=("new", "train"), buckets=(0, 1))
    table = read_run_panel(run_dir)
    assert roles(table) == ["new", "train"]
    whole = summarize(table)
    assert whole.individuals == 2 and whole.evaluations == 4 and whole.half_known == 2.0
    assert whole.median_first_known == 4.0 and whole.final_known == 0.75
    # Bucket 0 is individual 3 (known fraction 0, 1, 0.5, 1 at 1..4 exposures), bucket 1 individual 7
    # (0, 0, 0.5, 0.5 at 0, 2, 4, 6).
    assert whole.half_known_by_bucket == {0: 1.5, 1: 4.0}
    new = summarize(select(table, role="new"))
    assert new.individuals == 1 and new.half_known == 1.5 and new.half_known_by_bucket == {}
    assert read_run_panel(tmp_path) is None  # not a run with a panel


def test_the_report_draws_the_panel_of_several_runs_and_tables_their_fifty_percent_points(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    for seed in (0, 1):
        write_run(runs, f"n100_s{seed}", seed, 100)
    write_run(runs, "n200", 0, 200, roles=("new", "train"))
    report = make_report([runs], tmp_path / "out")
    assert report.figures["panel"].read_bytes()[:8] == PNG_MAGIC
    text = report.markdown.read_text()
    assert "## Knowledge panel: exposures at which half of the panel is known" in text
    rows = [line for line in text.splitlines() if line.startswith("| n")]
    panel_rows = [r for r in rows if "| train |" in r or "| new |" in r]
    assert len(panel_rows) == 4  # two seeds of N = 100, and N = 200's two roles
    cells = [c.strip() for c in panel_rows[0].strip("|").split("|")]
    assert cells[:2] == ["n100_s0", "100"] and "2" in cells and "0.750" in cells
    assert "![panel](panel.png)" in text
    assert math.isfinite(float(cells[cells.index("train") + 3]))  # the 50 % point
