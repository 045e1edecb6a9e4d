"""AdaptiveWarmUp sampler and the AdaptiveWarmUpSwitch callback."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from factdyn.callbacks import AdaptiveWarmUpSwitch
from factdyn.cli import cli_main
from factdyn.data import AdaptiveWarmUp, Uniform
from factdyn.dynamics.phases import PhaseThresholds
from tests.helpers.fake_trainer import FakeTrainer
from tests.helpers.runs import tiny_args

N, K, B = 1000, 100, 6.0


def bound(k: int = K, **kwargs) -> AdaptiveWarmUp:
    sampler = AdaptiveWarmUp(k, **kwargs)
    sampler.bind(N, 32, seed=3)
    return sampler


def draw(sampler: AdaptiveWarmUp, step: int) -> np.ndarray:
    return sampler.sample(step, 64, np.random.default_rng([3, step]))


def test_uniform_on_the_subset_until_switched_then_on_everyone() -> None:
    sampler = bound()
    assert sampler.subset.shape == (K,) and len(np.unique(sampler.subset)) == K
    assert np.array_equal(sampler.subset, bound().subset)  # seeded
    assert not np.array_equal(sampler.subset, bound(seed_offset=2).subset)
    warm = np.concatenate([draw(sampler, s) for s in range(50)])
    assert np.isin(warm, sampler.subset).all()
    assert len(np.unique(warm)) > 0.9 * K  # spread over the whole subset
    assert sampler.switch(50) == 50 and sampler.switch(80) == 50  # idempotent
    after = np.concatenate([draw(sampler, s) for s in range(50, 100)])
    assert np.isin(after, sampler.subset).mean() < 0.3  # mostly outside the 10 % subset
    assert np.array_equal(draw(sampler, 10), draw(bound(), 10))  # earlier steps unchanged


def test_switch_never_rewrites_batches_already_drawn() -> None:
    sampler = bound()
    draw(sampler, 41)  # the training loop prefetches one step ahead
    assert sampler.switch(41) == 42


def test_state_dict_makes_resume_exact() -> None:
    original = bound()
    for s in range(30):
        draw(original, s)
    original.switch(30)
    resumed = bound()
    resumed.load_state_dict(json.loads(json.dumps(original.state_dict())))
    for s in (0, 29, 30, 31, 200):
        assert np.array_equal(draw(original, s), draw(resumed, s))
    with pytest.raises(ValueError, match="warmup_individuals"):
        bound(K + 1).load_state_dict(original.state_dict())


def test_max_warmup_steps_and_bad_arguments() -> None:
    sampler = bound(max_warmup_steps=20)
    assert sampler.in_warmup(19) and not sampler.in_warmup(20)
    with pytest.raises(ValueError, match="data.sampler.warmup_individuals"):
        AdaptiveWarmUp(0)
    with pytest.raises(
        ValueError, match="data.sampler.warmup_individuals: at most the 1000 training individuals, got 1001"
    ):
        bound(N + 1)


def val_outputs(subset_loss: float, other_loss: float, subset: np.ndarray) -> dict:
    individual = torch.tensor([int(subset[0]), int(subset[1]), N - 1 if N - 1 not in subset else 0])
    loss = torch.tensor([subset_loss, subset_loss, other_loss])[:, None].repeat(1, 6)
    return {"split": "val", "value_loss": loss, "individual": individual}


def test_switch_callback_on_a_synthetic_loss_sequence() -> None:
    sampler = bound()
    trainer = FakeTrainer(datamodule=SimpleNamespace(sampler=sampler, num_workers=0))
    callback = AdaptiveWarmUpSwitch(thresholds=PhaseThresholds(patience=2))
    callback.setup(trainer, None, "fit")
    # Subset loss: above the baseline, plateau, then knowledge; the others stay on the baseline.
    curve = [(0, 20.0), (100, 6.2), (200, 6.0), (300, 5.9), (400, 4.0), (500, 3.0), (600, 1.0)]
    module = SimpleNamespace(device=torch.device("cpu"))
    for step, loss in curve:
        trainer.global_step = step
        trainer.set_metrics({"baseline/attr_loss": B})
        callback.on_validation_epoch_start(trainer, module)
        callback.on_validation_batch_end(trainer, module, val_outputs(loss, B, sampler.subset), None, 0)
        unseen = {**val_outputs(0.0, 0.0, sampler.subset), "split": "unseen"}  # ignored
        callback.on_validation_batch_end(trainer, module, unseen, None, 0, 1)
        callback.on_validation_end(trainer, module)
        if step < 500:
            assert not sampler.switched
    # The plateau end (step 400) is confirmed at step 500, so the switch happens there.
    assert callback.tracker.plateau_end_step == 400
    assert sampler.switch_step == callback.switch_step == 500
    assert callback.summary()["curriculum"]["switch_step"] == 500
    restored = AdaptiveWarmUpSwitch()
    restored.load_state_dict(json.loads(json.dumps(callback.state_dict())))
    assert restored.tracker.plateau_end_step == 400 and restored.switch_step == 500


def test_switch_callback_refuses_workers_and_other_samplers() -> None:
    callback = AdaptiveWarmUpSwitch()
    with pytest.raises(ValueError, match="data.num_workers: 0"):
        callback.setup(FakeTrainer(datamodule=SimpleNamespace(sampler=bound(), num_workers=2)), None, "fit")
    with pytest.raises(ValueError, match="data.sampler: AdaptiveWarmUp"):
        callback.setup(FakeTrainer(datamodule=SimpleNamespace(sampler=Uniform(), num_workers=0)), None, "fit")


def test_selectable_from_the_cli(tmp_path) -> None:
    cli = cli_main(
        tiny_args(
            tmp_path,
            "--data.sampler",
            "AdaptiveWarmUp",
            "--data.sampler.warmup_individuals",
            "16",
            "--trainer.callbacks+=AdaptiveWarmUpSwitch",
            "--trainer.callbacks.thresholds.patience",
            "1",
        )[1:],
        run=False,
    )
    sampler = cli.datamodule.sampler
    assert isinstance(sampler, AdaptiveWarmUp) and sampler.subset.shape == (16,)
    assert any(
        isinstance(c, AdaptiveWarmUpSwitch) and c.thresholds.patience == 1 for c in cli.trainer.callbacks
    )


def test_tiny_run_logs_the_warmup_subset_loss(run_tiny) -> None:
    from factdyn.analysis.runs import read_scalars

    cli, run_dir = run_tiny(
        "--data.sampler",
        "AdaptiveWarmUp",
        "--data.sampler.warmup_individuals",
        "16",
        "--trainer.callbacks+=AdaptiveWarmUpSwitch",
    )
    series = read_scalars(run_dir, ["curriculum/warmup_attr_loss", "val/attr_loss"])
    steps = [s for s, _ in series["curriculum/warmup_attr_loss"]]
    assert steps == [s for s, _ in series["val/attr_loss"]]
    # Far above the baseline after 8 steps: the subset is still in phase 1 and training stays on it.
    assert all(v > cli.model.baseline_attr_loss for _, v in series["curriculum/warmup_attr_loss"])
    assert not cli.datamodule.sampler.switched
