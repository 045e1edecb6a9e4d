"""Seed groups and statistics over seeds (``factdyn.analysis.report.seeds``), the bootstrap interval of the
plateau exponent and the paper's fit in exposures, on hand-made runs (no files, no training)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from factdyn.analysis.fits import (
    PAPER_PLATEAU_N_RANGE,
    bootstrap_exponent,
    fit_power_law,
    paper_plateau_exposures,
)
from factdyn.analysis.report.plateau_fit import plateau_fits
from factdyn.analysis.report.run_info import RunInfo, seed_linked_keys, varying_keys
from factdyn.analysis.report.seeds import SeedStat, seed_groups, seed_stat, unique_labels
from factdyn.analysis.runs import Run


def info(
    name: str,
    seed: int | None,
    config: dict | None = None,
    scalars: dict[str, list[tuple[int, float]]] | None = None,
    summary: dict | None = None,
) -> RunInfo:
    """A run as the report sees it, without a directory: flattened config, scalars, summary."""
    flat = {"seed_everything": seed, **(config or {})} if seed is not None else dict(config or {})
    run = Run(path=Path("/runs") / name / "version_0", summary=summary or {})
    return RunInfo(run=run, config=flat, _scalars=scalars or {})


def test_seed_stat_mean_sample_sd_range_and_format() -> None:
    stat = seed_stat({2: 0.944, 0: 0.940, 1: 0.966})
    assert stat.seeds == (0, 1, 2) and stat.values == (0.940, 0.966, 0.944)  # sorted by seed
    assert stat.n == 3 and stat.mean == pytest.approx(0.95)
    assert stat.sd == pytest.approx(np.std([0.940, 0.966, 0.944], ddof=1))
    assert (stat.min, stat.max) == (0.940, 0.966)
    assert stat.format() == "0.95 ± 0.014 (0.94, 0.966, 0.944)"
    assert stat.format(".3f") == "0.950 ± 0.014 (0.940, 0.966, 0.944)"
    one = seed_stat({5: 1234.0})
    assert math.isnan(one.sd) and one.format(".0f") == "1234 (1 seed)"
    assert one.as_dict()["sd"] is None


def test_seed_stat_drops_missing_values_and_is_none_when_nothing_is_left() -> None:
    stat = seed_stat({0: 1.0, 1: None, 2: float("nan"), 3: 3.0})
    assert stat.seeds == (0, 3) and stat.mean == 2.0
    assert seed_stat({0: None, 1: float("nan")}) is None and seed_stat({}) is None
    with pytest.raises(ValueError, match="2 seeds for 1 values"):
        SeedStat(seeds=(0, 1), values=(1.0,))


def test_runs_that_differ_only_in_the_seed_form_one_group_sorted_by_seed() -> None:
    runs = [
        info(f"n{n}-seed={s}", s, {"data.n_individuals": n, "data.seed": s, "trainer.logger.name": f"r{s}"})
        for n in (2000, 1000)
        for s in (2, 0, 1)
    ]
    groups = seed_groups(runs, ["data.n_individuals"])
    assert [g.factors for g in groups] == [{"data.n_individuals": 1000}, {"data.n_individuals": 2000}]
    assert [g.seeds for g in groups] == [(0, 1, 2), (0, 1, 2)]
    assert [g.label for g in groups] == [
        "n_individuals=1000 (n = 3 seeds)",
        "n_individuals=2000 (n = 3 seeds)",
    ]
    stat = groups[0].stat(lambda r: 10.0 * r.seed if r.seed else None)
    assert stat.seeds == (1, 2) and stat.values == (10.0, 20.0)
    (alone,) = seed_groups(runs[:3], [])
    assert alone.label == "all runs (n = 3 seeds)" and alone.factors == {}


def test_a_field_an_older_run_does_not_record_is_no_factor() -> None:
    """Seed 0 was archived before ``model.config.positions`` existed; seeds 1 and 2 record its default."""
    zipf = {"data.sampler.init_args.alpha": 0.4}
    runs = [info("zipf-seed=0", 0, zipf)]
    runs += [info(f"zipf-seed={s}", s, {**zipf, "model.config.positions": "learned"}) for s in (1, 2)]
    assert varying_keys(runs) == []
    (group,) = seed_groups(runs, varying_keys(runs))
    assert group.seeds == (0, 1, 2)
    rotary = info(
        "rotary-seed=0", 0, {"data.sampler.init_args.alpha": 0.4, "model.config.positions": "rotary"}
    )
    assert varying_keys([*runs, rotary]) == ["model.config.positions"]
    zipf = {"data.sampler.class_path": "factdyn.data.Zipf", "checkpoints.every_n_steps": 250}
    uniform = {"data.sampler.class_path": "factdyn.data.Uniform", "checkpoints.every_n_steps": 500}
    zipf_ref = [info(f"z-seed={s}", s, zipf) for s in (0, 1)] + [info("u-seed=0", 0, uniform)]
    assert varying_keys(zipf_ref) == ["data.sampler.class_path"]  # checkpoints change no training step
    assert [g.label for g in seed_groups(zipf_ref, varying_keys(zipf_ref))] == [
        "class_path=Uniform (n = 1 seed)", "class_path=Zipf (n = 2 seeds)"
    ]  # fmt: skip
    nulls = [
        info("a-seed=0", 0, {"model.init_checkpoint": None}),
        info("b-seed=0", 0, {"model.init_checkpoint": "x"}),
    ]
    assert varying_keys(nulls) == ["model.init_checkpoint"]  # a recorded null is a value


def test_group_labels_are_unique_even_when_the_factors_read_alike() -> None:
    # A list-valued factor is left out of labels, so these two groups would both read "lr=0.1".
    runs = [
        info(f"cb-{cb}-seed={seed}", seed, {"model.lr": lr, "trainer.callbacks": [cb]})
        for lr, cb in ((0.1, "a"), (0.1, "b"), (0.2, "b"))
        for seed in (0, 1)
    ]
    groups = seed_groups(runs, ["model.lr", "trainer.callbacks"])
    assert [g.label for g in groups] == [
        "lr=0.1 [cb-a] (n = 2 seeds)",
        "lr=0.1 [cb-b] (n = 2 seeds)",
        "lr=0.2 (n = 2 seeds)",
    ]
    assert unique_labels(["x", "x", "y"], [["a"], ["a"], ["b"]]) == ["x", "x #2", "y"]


def test_a_repeated_or_unknown_seed_starts_a_group_of_its_own() -> None:
    runs = [info("a", 0), info("b", 1), info("c", 0), info("d", None), info("e", None)]
    groups = seed_groups(runs, [])
    assert [g.seeds for g in groups] == [(0, 1), (0,), (None,), (None,)]
    assert len({g.label for g in groups}) == 4
    assert seed_stat({None: 1.0}).seeds == (None,)


def test_group_curve_is_mean_and_min_max_on_the_steps_every_seed_has() -> None:
    scalars = [
        {"val/attr_loss": [(0, 6.0), (10, 4.0), (20, 2.0)]},
        {"val/attr_loss": [(0, 8.0), (10, 2.0), (20, 1.0), (30, 0.5)]},
    ]
    (group,) = seed_groups([info(f"r{s}", s, scalars=sc) for s, sc in enumerate(scalars)], [])
    curve = group.curve("val/attr_loss")
    assert curve.steps.tolist() == [0, 10, 20] and curve.n == 2
    assert curve.mean.tolist() == [7.0, 3.0, 1.5]
    assert curve.low.tolist() == [6.0, 2.0, 1.0] and curve.high.tolist() == [8.0, 4.0, 2.0]
    assert curve.at(5) == 5.0
    assert group.curve("val/attr_acc") is None


def test_bootstrap_interval_of_the_exponent_is_deterministic_and_brackets_the_fit() -> None:
    ns = [1000, 2000, 4000, 8000]
    ends = {n: [0.5 * n**0.8 * f for f in (0.9, 1.0, 1.12)] for n in ns}
    interval = bootstrap_exponent(ends, n_resamples=500, level=0.9, rng_seed=3)
    assert interval == bootstrap_exponent(ends, n_resamples=500, level=0.9, rng_seed=3)
    assert (interval.level, interval.n_resamples, interval.rng_seed) == (0.9, 500, 3)
    fitted = fit_power_law(ns, [np.mean(ends[n]) for n in ns]).exponent
    assert interval.low < fitted < interval.high
    # Any resample's exponent is that of one choice of values per N: the interval lies within the extremes.
    extremes = [
        fit_power_law(ns, [np.mean(v) for v in choice]).exponent
        for choice in itertools.product(
            *[list(itertools.combinations_with_replacement(ends[n], 3)) for n in ns]
        )
    ]
    assert min(extremes) <= interval.low and interval.high <= max(extremes)
    assert bootstrap_exponent({n: [float(n)] for n in ns}) is None  # one seed per N: nothing to resample
    with pytest.raises(ValueError, match="positive"):
        bootstrap_exponent({1000: [1.0, -1.0], 2000: [2.0, 3.0]})


def test_paper_fit_in_exposures_per_individual() -> None:
    # 0.43 · N^0.81 steps of 128 sequences, per individual: ≈ 11.4 at 4k, ≈ 5 at 256k (spec §2.2).
    assert paper_plateau_exposures(4000) == pytest.approx(0.43 * 4000**0.81 * 128 / 4000)
    assert paper_plateau_exposures(4000) == pytest.approx(11.4, abs=0.05)
    assert paper_plateau_exposures(256_000) == pytest.approx(5.0, abs=0.2)
    assert PAPER_PLATEAU_N_RANGE == (4000, 256_000)


def test_plateau_fits_keep_per_seed_ends_exposures_and_the_interval() -> None:
    runs = []
    for n in (1000, 2000, 4000):
        for seed, factor in ((0, 0.9), (1, 1.1)):
            end = int(0.5 * n**0.8 * factor)
            runs.append(
                info(
                    f"n{n}-seed={seed}",
                    seed,
                    {"data.n_individuals": n, "data.batch_size": 32},
                    summary={"plateau": {"start_step": 10, "end_step": end}},
                )
            )
    (name, pf), *_ = plateau_fits(runs, ["data.n_individuals"]).items()
    assert name == "all runs" and pf.batch_size == 32
    assert pf.ends[1000].seeds == (0, 1)
    assert pf.ends[1000].values == (int(0.5 * 1000**0.8 * 0.9), int(0.5 * 1000**0.8 * 1.1))
    assert pf.exposures[2000].values == tuple(v * 32 / 2000 for v in pf.ends[2000].values)
    assert pf.exponent_interval is not None
    assert pf.exponent_interval.low <= pf.fit.exponent <= pf.exponent_interval.high


def test_a_checkpoint_path_that_changes_with_the_seed_is_part_of_it() -> None:
    def ft(n_new: int, seed: int, ckpt: str) -> RunInfo:
        return info(f"ft{n_new}-seed={seed}", seed, {"data.n_new": n_new, "model.init_checkpoint": ckpt})

    runs = [
        ft(n, s, f"logs/sweeps/pretrain/seed={s}/version_0/checkpoints/last.ckpt")
        for n in (50, 200)
        for s in (0, 1)
    ]
    assert seed_linked_keys(runs) == ["model.init_checkpoint"] and varying_keys(runs) == ["data.n_new"]
    assert [g.seeds for g in seed_groups(runs, varying_keys(runs))] == [(0, 1), (0, 1)]
    # Two checkpoints for one seed: the checkpoint is a factor again; its long path stays out of the labels.
    more = [*runs, ft(50, 0, "logs/sweeps/pretrain/seed=0/version_0/checkpoints/step=00001000.ckpt")]
    assert seed_linked_keys(more) == [] and "model.init_checkpoint" in varying_keys(more)
    labels = [g.label for g in seed_groups(more, varying_keys(more))]
    assert len(set(labels)) == len(labels) == 5 and all(label.startswith("n_new=") for label in labels)
    # A number paired with the seeds stays a factor (only text such as paths can be part of the seed).
    paired = [info(f"lr-seed={s}", s, {"model.lr": 0.001 * (s + 1)}) for s in (0, 1)]
    assert seed_linked_keys(paired) == [] and varying_keys(paired) == ["model.lr"]
    # The pre-training runs beside them (no init checkpoint) leave the path part of the seed.
    pretrain = [info(f"pretrain-seed={s}", s, {"data.n_new": 0}) for s in (0, 1)]
    assert seed_linked_keys([*runs, *pretrain]) == ["model.init_checkpoint"]
