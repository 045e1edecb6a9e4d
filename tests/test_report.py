"""``factdyn report`` and the fits, on small synthetic run directories written here (no training)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from factdyn.analysis.fits import fit_power_law, run_phases
from factdyn.analysis.report import load_runs, make_report, varying_keys
from factdyn.analysis.runs import Run
from factdyn.cli import main as factdyn_main
from tests.helpers.report_runs import BASELINE, phase_curves, true_plateau_end, write_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def plateau_sweep(root: Path, ns=(1000, 2000, 4000, 8000), seeds=(0, 1)) -> Path:
    """Runs of a plateau-vs-N sweep; seed 1 has no ``plateau`` section (found from the curve instead)."""
    for n in ns:
        end = true_plateau_end(n)
        max_steps = end + 400
        for seed in seeds:
            summary = {
                "steps": max_steps,
                "n_individuals": n,
                "seed": seed,
                "baseline_attr_loss": BASELINE,
                "wall_seconds": 1.5,
                "final": {"val/attr_loss": 0.01, "val/attr_acc": 0.99},
            }
            if seed == 0:
                summary["plateau"] = {"start_step": 50, "end_step": end, "knowledge_step": end + 300}
            config = {
                "seed_everything": seed,
                "trainer": {"max_steps": max_steps, "logger": {"name": f"r{n}"}},
                "data": {"n_individuals": n, "batch_size": 32},
                "model": {"lr": 0.002},
            }
            write_run(root, f"n{n}-s{seed}", config, phase_curves(end, max_steps), summary)
    return root


def test_fit_power_law_recovers_exponent_prefactor_and_r2() -> None:
    x = np.array([500, 1000, 2000, 4000, 8000])
    fit = fit_power_law(x, 0.43 * x**0.81)
    assert fit.exponent == pytest.approx(0.81) and fit.prefactor == pytest.approx(0.43) and fit.r2 == 1.0
    noisy = fit_power_law(x, 0.43 * x**0.81 * np.array([1.1, 0.9, 1.05, 0.95, 1.0]))
    assert 0.7 < noisy.exponent < 0.9 and 0.9 < noisy.r2 < 1.0
    assert fit_power_law([1, 2, 0, 4], [1, 2, 5, -1]).n_points == 2  # non-positive points are left out
    with pytest.raises(ValueError, match="distinct x"):
        fit_power_law([1000, 1000], [5, 6])


def test_plateau_from_summary_or_replayed_on_the_curve(tmp_path: Path) -> None:
    plateau_sweep(tmp_path, ns=(4000,), seeds=(0, 1))
    with_section, without = (Run.load(p) for p in sorted(tmp_path.glob("*/version_0")))
    assert run_phases(with_section).source == "summary"
    replayed = run_phases(without)
    assert replayed.source == "curve"
    # The loss falls under 90 % of the baseline at the true end; the detector reports that evaluation.
    assert replayed.end_step == true_plateau_end(4000) and replayed.start_step == 50


def test_report_on_a_plateau_sweep_draws_curves_fit_and_table(tmp_path: Path) -> None:
    root = plateau_sweep(tmp_path / "runs")
    report = make_report([root], tmp_path / "report")
    assert set(report.figures) == {"curves", "plateau_vs_n", "hallucinations"}
    for path in report.figures.values():
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 10_000
    (fit,) = report.plateau_fits.values()
    ns = np.array([1000, 2000, 4000, 8000])
    expected = fit_power_law(ns, [true_plateau_end(n) for n in ns])
    assert fit.exponent == pytest.approx(expected.exponent, abs=1e-9) and 0.75 < fit.exponent < 0.85
    md = report.markdown.read_text()
    # group | a | b | b's interval | R² | N values | seeds per N | batch
    row = re.search(
        r"^\| all runs \| ([\d.]+) \| ([\d.]+) \| \[([\d.]+), ([\d.]+)\] \| ([\d.]+) \| 4 \| 2 \| 32 \|",
        md,
        flags=re.M,
    )
    assert row, md
    assert float(row.group(2)) == pytest.approx(fit.exponent, abs=1e-3)
    # Both seeds have the same plateau end at every N: resampling them cannot move the exponent.
    assert float(row.group(3)) == float(row.group(4)) == pytest.approx(fit.exponent, abs=1e-3)
    assert "0.43·N^0.81" in md and "95% percentile bootstrap, 2000 resamples" in md
    assert len(re.findall(r"^\| n\d+-s\d \|", md, flags=re.M)) == 8  # one table row per run
    assert "(curve)" in md  # seed 1's plateau came from the curve
    assert "![plateau_vs_n](plateau_vs_n.png)" in md
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert saved["factors"] == ["data.n_individuals", "trainer.max_steps"]
    saved_fit = saved["plateau_fits"]["all runs"]
    assert saved_fit["exponent"] == pytest.approx(fit.exponent)
    assert saved_fit["exponent_interval"]["level"] == 0.95
    assert saved_fit["exponent_interval"]["n_resamples"] == 2000
    assert saved_fit["plateau_end_by_n"]["4000"]["values"] == [true_plateau_end(4000)] * 2
    assert saved_fit["exposures_by_n"]["4000"]["mean"] == pytest.approx(true_plateau_end(4000) * 32 / 4000)
    assert [g["seeds"] for g in saved["seed_groups"]] == [[0, 1]] * 4
    assert saved["band"] == "min–max over seeds"


def test_plateau_fit_needs_three_population_sizes(tmp_path: Path) -> None:
    root = plateau_sweep(tmp_path / "runs", ns=(1000, 2000), seeds=(0,))
    report = make_report([root], tmp_path / "report")
    assert "plateau_vs_n" not in report.figures and not report.plateau_fits
    assert "curves" in report.figures


def test_report_draws_heatmaps_finetuning_patching_and_attention_when_their_runs_exist(
    tmp_path: Path,
) -> None:
    root = tmp_path / "runs"
    for n in (1000, 2000):
        for alpha in (0.0, 0.5):
            for steps in (300, 600):
                end = true_plateau_end(n) // (2 if alpha else 1)
                sampler = {"class_path": "factdyn.data.samplers.Zipf", "init_args": {"alpha": alpha}}
                config = {"data": {"n_individuals": n, "sampler": sampler}, "trainer": {"max_steps": steps}}
                final = 0.1 if (alpha > 0) == (n == 2000) else 0.2  # best α: 0 at N=1000, 0.5 at N=2000
                summary = {
                    "steps": steps,
                    "n_individuals": n,
                    "baseline_attr_loss": BASELINE,
                    "plateau": {"start_step": 50, "end_step": end},
                    "final": {"val/attr_loss": final},
                }
                write_run(root, f"zipf-{n}-{alpha}-{steps}", config, phase_curves(end, steps, 50), summary)
    toy = {
        f"toy/{k}_loss": [(s, v) for s, v in zip(range(0, 100, 10), np.geomspace(a, b, 10), strict=True)]
        for k, a, b in (("old", 0.01, 0.5), ("new", 3.4, 0.01))
    }
    write_run(root, "toy-ft", {"data": {"n_new": 128}}, toy, {"steps": 100})
    for ref in (0, 500):
        curves = phase_curves(100, 300, 50)
        curves["attn/name_to_name/layer_0"] = [(s, 0.9) for s in range(0, 301, 50)]
        curves["attn/attr_to_name/layer_1"] = [(s, s / 300) for s in range(0, 301, 50)]
        curves["attn/attr_to_text/layer_1"] = [(s, 1 - s / 300) for s in range(0, 301, 50)]
        patch = {
            "attention_patching": {"start_step": 0, "reference_step": ref},
            "steps": 300,
            "final": {"val/attr_loss": 0.5 + ref / 1000},
        }
        write_run(root, f"patch-{ref}", {"data": {"n_individuals": 3000}}, curves, patch)

    report = make_report([root], tmp_path / "report")
    assert {"heatmaps", "finetuning", "patching", "attention", "curves"} <= set(report.figures)
    md = report.markdown.read_text()
    best = md.split("## Best α")[1]
    assert re.search(r"^\| 1000 \| 0 \| 0 \|$", best, flags=re.M), best
    assert re.search(r"^\| 2000 \| 0.5 \| 0.5 \|$", best, flags=re.M), best
    assert "## Plateau end (steps), N × α" in md
    assert "## Attention patching" in md and "| 0 | 0.5000 | 1.0000 |" in md


def test_factors_ignore_logger_paths_and_seeds(tmp_path: Path) -> None:
    plateau_sweep(tmp_path, ns=(1000,), seeds=(0, 1))
    infos = load_runs([tmp_path])
    assert len(infos) == 2 and varying_keys(infos) == []


def test_report_command_through_the_factdyn_entry_point(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = plateau_sweep(tmp_path / "runs", ns=(1000, 2000, 4000), seeds=(0,))
    factdyn_main(["report", str(root), "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert "plateau end vs N (all runs):" in printed and (tmp_path / "out" / "plateau_vs_n.png").exists()


def test_alpha_is_the_runs_sampler_record_and_the_config_only_without_one(tmp_path: Path) -> None:
    zipf = {"class_path": "factdyn.data.samplers.Zipf", "init_args": {"alpha": 0.3}}
    cases = {  # run name -> (sampler.json, summary's sampler section, config's data.sampler)
        "file": ({"sampler": "Zipf", "alpha": 0.8}, {"sampler": "Zipf", "alpha": 0.5}, zipf),
        "summary": (None, {"sampler": "Zipf", "alpha": 0.5}, zipf),
        "uniform": ({"sampler": "Uniform"}, None, zipf),
        "other": ({"sampler": "Celebrities", "weight": 10.0}, None, None),
        "config": (None, None, zipf),
    }
    for name, (record, section, sampler) in cases.items():
        run_dir = tmp_path / name / "version_0"
        run_dir.mkdir(parents=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump({"data": {"sampler": sampler}}))
        (run_dir / "summary.json").write_text(json.dumps({"steps": 1, "sampler": section}))
        if record is not None:
            (run_dir / "sampler.json").write_text(json.dumps(record))
    alphas = {info.run.path.parent.name: info.alpha for info in load_runs([tmp_path])}
    assert alphas == {"file": 0.8, "summary": 0.5, "uniform": 0.0, "other": None, "config": 0.3}
