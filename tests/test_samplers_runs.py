"""Samplers in real tiny runs: CLI selection, exposure files, bucket metrics, exact resume, replay, DDP."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from factdyn.analysis.runs import read_scalars
from factdyn.cli import cli_main
from tests.helpers.individual_recorders import load
from tests.helpers.runs import REPO, TINY, tiny_args

RECORDER = "tests.helpers.individual_recorders.IndividualRecorder"
STEPS, BATCH, N = 8, 8, 64  # the tiny preset


def recorder_args(dirpath: Path, prefix: str = "", stop_at: int | None = None) -> list[str]:
    args = [
        "--trainer.callbacks+=" + RECORDER,
        f"--trainer.callbacks.dirpath={dirpath}",
        f"--trainer.callbacks.prefix={prefix}",
    ]
    if stop_at is not None:
        args.append(f"--trainer.callbacks.stop_at={stop_at}")
    return args


def expected_stream(dm, rank: int = 0, steps: int = STEPS) -> dict[int, list[int]]:
    """The individuals the sampler defines for each step, computed without Lightning."""
    draw = dm.sampler.sample
    return {s: draw(s, BATCH, np.random.default_rng([dm.seed, s, rank])).tolist() for s in range(steps)}


def read_exposures(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "exposures.csv").open() as f:
        return list(csv.DictReader(f))


def test_zipf_run_records_sampler_exposures_and_buckets(run_tiny, tmp_path: Path) -> None:
    cli, run_dir = run_tiny("--data.sampler", "Zipf", "--data.sampler.alpha", "0.6", *recorder_args(tmp_path))
    sampler = cli.datamodule.sampler
    assert type(sampler).__name__ == "Zipf" and sampler.alpha == 0.6
    described = json.loads((run_dir / "sampler.json").read_text())
    assert described["sampler"] == "Zipf" and described["permutation_seed"] == 0
    rows = read_exposures(run_dir)
    assert len(rows) == N
    counts = np.array([int(r["exposures"]) for r in rows])
    assert counts.sum() == STEPS * BATCH
    # Counts equal the recorded batches, and those equal the sampler's pure stream (nothing reshuffled).
    recorded = load(tmp_path / "rank0.json")
    assert recorded == expected_stream(cli.datamodule)
    assert (counts == np.bincount(np.concatenate(list(recorded.values())), minlength=N)).all()
    assert [int(r["rank"]) for r in rows] == sampler.rank.tolist()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["exposures"]["max"] == counts.max() and summary["sampler"]["alpha"] == 0.6
    scalars = read_scalars(run_dir)
    assert scalars["exposures/mean"][-1] == (STEPS, STEPS * BATCH / N)
    buckets = [k for k in scalars if k.startswith("val/attr_loss/bucket_")]
    assert buckets, "no per-bucket metrics"
    # The bucket metrics split the same uniform val set: their weighted mean is val/attr_loss.
    dm = cli.datamodule
    individuals = np.concatenate([b["individual"].numpy() for b in dm.eval_batches["val"]])
    weights = np.bincount(sampler.buckets()[individuals], minlength=10)
    mean = sum(weights[int(k.rsplit("_", 1)[1])] * scalars[k][-1][1] for k in buckets) / weights.sum()
    assert mean == pytest.approx(scalars["val/attr_loss"][-1][1], rel=1e-4)


def test_uniform_run_has_no_bucket_metrics(run_tiny) -> None:
    _, run_dir = run_tiny()
    scalars = read_scalars(run_dir)
    assert "exposures/top_decile" in scalars
    assert not [k for k in scalars if "bucket_" in k]
    assert set(read_exposures(run_dir)[0]) == {"individual", "exposures"}


def test_warmup_resume_is_exact(tmp_path: Path) -> None:
    """A run stopped at step 4 and resumed from last.ckpt draws the individuals of an uninterrupted run.

    Warm-up over 16 individuals switches to all 64 at step 6 (0.75 epoch of 8 steps), after the resume point.
    """
    sampler = [
        "--data.sampler",
        "WarmUp",
        "--data.sampler.warmup_individuals",
        "16",
        "--data.sampler.warmup_epochs",
        "0.75",
    ]
    full = cli_main(tiny_args(tmp_path / "full", *sampler, *recorder_args(tmp_path, "full_")))
    killed = cli_main(tiny_args(tmp_path / "part", *sampler, *recorder_args(tmp_path, "a_", stop_at=4)))
    assert killed.trainer.global_step == 4
    ckpt = Path(killed.trainer.log_dir) / "checkpoints" / "last.ckpt"
    (Path(killed.trainer.log_dir) / "summary.json").unlink()  # as if killed: a finished run is not resumed
    resumed = cli_main(
        tiny_args(tmp_path / "part", *sampler, *recorder_args(tmp_path, "b_"), "--ckpt_path", str(ckpt))
    )
    assert resumed.trainer.global_step == STEPS
    uninterrupted = load(tmp_path / "full_rank0.json")
    first, second = load(tmp_path / "a_rank0.json"), load(tmp_path / "b_rank0.json")
    assert sorted(first) == [0, 1, 2, 3] and sorted(second) == [4, 5, 6, 7]
    assert {**first, **second} == uninterrupted
    subset = set(full.datamodule.sampler.subset.tolist())
    assert all(set(uninterrupted[s]) <= subset for s in range(6))
    assert not all(set(uninterrupted[s]) <= subset for s in range(6, 8))
    # Exposure counts survive the resume too.
    full_counts = [r["exposures"] for r in read_exposures(Path(full.trainer.log_dir))]
    assert [r["exposures"] for r in read_exposures(Path(resumed.trainer.log_dir))] == full_counts


def test_replay_mixing_run(tmp_path: Path) -> None:
    args = tiny_args(
        tmp_path / "logs",
        "--data.n_new",
        "16",
        "--data.train_roles",
        "[new, train]",
        "--data.sampler",
        "ReplayMixture",
        "--data.sampler.replay_weight",
        "0.25",
        "--trainer.callbacks+=factdyn.callbacks.ReplayMixing",
        "--trainer.callbacks.schedule",
        "{4: 0.0}",
        *recorder_args(tmp_path),
    )
    cli = cli_main(args)
    sampler = cli.datamodule.sampler
    assert sampler.replay_weight == 0.25 and sampler.n_new == 16
    recorded = load(tmp_path / "rank0.json")
    assert all(max(recorded[s]) < 16 for s in range(4, 8))  # weight 0 from step 4: only new individuals
    assert any(max(recorded[s]) >= 16 for s in range(4))
    scalars = read_scalars(Path(cli.trainer.log_dir))
    assert scalars["replay/expected_fraction"][0][1] == pytest.approx(0.25 * 64 / (0.25 * 64 + 16))
    assert scalars["replay/fraction"][-1][1] == 0.0
    state = cli.datamodule.state_dict()
    assert state["sampler"]["schedule"] == [[4, 0.0]]


def test_replay_mixing_needs_replay_sampler(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"data.sampler: ReplayMixture \(with data.train_roles: \[new, train\]\) for ReplayMixing, "
        r"got 'Uniform'",
    ):
        cli_main(tiny_args(tmp_path, "--trainer.callbacks+=factdyn.callbacks.ReplayMixing"))


@pytest.mark.parametrize(
    "args,message",
    [
        (["--data.sampler", "Zipf", "--data.sampler.alpha", "-1"], "data.sampler.alpha: a number >= 0"),
        (
            ["--data.sampler", "Celebrities", "--data.sampler.n_celebrities", "100"],
            "n_celebrities: at most the 64 training",
        ),
        (["--data.sampler", "WarmUp", "--data.sampler.warmup_individuals", "65"], "warmup_individuals"),
    ],
)
def test_bad_sampler_arguments_fail_before_training(tmp_path: Path, args: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cli_main(tiny_args(tmp_path, *args)[1:], run=False)


EXPERIMENTS = {
    "zipf": "Zipf",
    "celebrities": "Celebrities",
    "warmup": "WarmUp",
    "sequential": "SequentialGroups",
    "alternating": "SequentialGroups",
    "replay": "ReplayMixture",
}


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_experiment_configs_instantiate(tmp_path: Path, name: str) -> None:
    """Quickstart-scale configs compose with quickstart.yaml, paper-scale ones with a 64k population."""
    log = ["--trainer.logger.init_args.save_dir", str(tmp_path)]
    quick = REPO / "configs" / "quickstart.yaml"
    cli = cli_main(
        ["--config", str(quick), "--config", str(REPO / f"configs/experiments/{name}.yaml"), *log], run=False
    )
    assert type(cli.datamodule.sampler).__name__ == EXPERIMENTS[name]
    paper = ["--data.n_individuals", "64000", "--data.batch_size", "128"]
    cli = cli_main(
        [
            "--config",
            str(TINY),
            "--config",
            str(REPO / f"configs/experiments/paper_{name}.yaml"),
            *paper,
            *log,
        ],
        run=False,
    )
    assert type(cli.datamodule.sampler).__name__ == EXPERIMENTS[name]
    if name == "warmup":
        assert cli.datamodule.sampler.warmup_steps() == 1500  # the paper's best: 1.5k steps at 64k


@pytest.mark.slow
def test_ddp_ranks_draw_disjoint_correctly_weighted_streams(tmp_path: Path) -> None:
    """Two CPU ranks (gloo): each trains on its own (seed, step, rank) stream, unchanged by Lightning."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    args = [
        sys.executable,
        "-m",
        "factdyn.cli",
        *tiny_args(tmp_path / "logs"),
        "--trainer.strategy",
        "ddp",
        "--trainer.accelerator",
        "cpu",
        "--trainer.devices",
        "2",
        "--data.sampler",
        "Celebrities",
        "--data.sampler.n_celebrities",
        "8",
        "--data.sampler.weight",
        "8",
        *recorder_args(tmp_path),
    ]
    subprocess.run(args, cwd=tmp_path, env=env, check=True, timeout=240)
    from factdyn.data import BiographyDataModule, Celebrities

    dm = BiographyDataModule(n_individuals=N, n_unseen=16, batch_size=BATCH, sampler=Celebrities(8, 8))
    ranks = [load(tmp_path / f"rank{r}.json") for r in (0, 1)]
    for r in (0, 1):
        assert ranks[r] == expected_stream(dm, rank=r)
    assert ranks[0] != ranks[1]
    # Each rank's stream is weighted as defined: celebrities are 8*8 / (8*8 + 56) = 53 % of the draws.
    for r in (0, 1):
        drawn = np.concatenate(list(expected_stream(dm, rank=r, steps=2000).values()))
        frac = np.isin(drawn, dm.sampler.celebrities).mean()
        assert abs(frac - dm.sampler.celebrity_fraction()) < 4 * np.sqrt(0.25 / len(drawn))
    run_dir = next((tmp_path / "logs").rglob("exposures.csv")).parent
    counts = np.array([int(r["exposures"]) for r in read_exposures(run_dir)])
    both = np.concatenate([np.concatenate(list(x.values())) for x in ranks])
    assert (counts == np.bincount(both, minlength=N)).all()  # exposures gathered over both ranks
