"""Phase detection on synthetic attribute-loss curves (factdyn.dynamics.phases) and PhaseDetector."""

from __future__ import annotations

import json

import numpy as np
import pytest

from factdyn.callbacks import PhaseDetector
from factdyn.checks import ConfigError
from factdyn.cli import cli_main
from factdyn.dynamics.phases import PhaseThresholds, PhaseTracker, detect_phases
from tests.helpers.fake_trainer import FakeTrainer
from tests.helpers.runs import tiny_args

B = 6.0  # baseline
STEPS = np.arange(0, 4000, 100)


def three_phase_curve(steps: np.ndarray) -> np.ndarray:
    """Drop from 40 to the baseline by step 500, sit there until 2000, then decay to ~0."""
    phase1 = B + 34 * np.exp(-steps / 80)
    knowledge = B * np.exp(-np.clip(steps - 2000, 0, None) / 300)
    return np.where(steps < 2000, phase1, np.minimum(phase1, knowledge))


def test_clean_three_phase_curve() -> None:
    losses = three_phase_curve(STEPS)
    phases = detect_phases(STEPS, losses, B)
    # Expected boundaries computed from the thresholds, not hard-coded.
    reach = STEPS[np.argmax(losses <= 1.1 * B)]
    below = losses < 0.9 * B
    leave = STEPS[np.argmax(below & (STEPS > reach))]
    knowledge = STEPS[np.argmax(losses < 0.1 * B)]
    assert phases.reached_baseline_step == reach
    assert phases.plateau_end_step == leave
    assert phases.knowledge_step == knowledge
    assert reach < 500 < 2000 <= leave < knowledge
    assert phases.plateau_length == leave - reach


def test_noisy_curve_ignores_single_dips() -> None:
    rng = np.random.default_rng(0)
    losses = three_phase_curve(STEPS) + rng.normal(0, 0.05 * B, size=STEPS.shape)
    # Two isolated dips below the leave band during the plateau: noise, not the plateau end.
    losses[STEPS == 1000] = 0.8 * B
    losses[STEPS == 1500] = 0.8 * B
    phases = detect_phases(STEPS, losses, B, patience=3)
    assert phases.plateau_end_step is not None and phases.plateau_end_step >= 2000
    # With patience 1 the first dip counts.
    assert detect_phases(STEPS, losses, B, patience=1).plateau_end_step <= 1000


def test_curve_that_never_leaves_the_plateau() -> None:
    losses = B + 34 * np.exp(-STEPS / 80) + 0.02 * B * np.sin(STEPS)
    phases = detect_phases(STEPS, losses, B)
    assert phases.reached_baseline_step is not None
    assert phases.plateau_end_step is None and phases.knowledge_step is None
    assert phases.plateau_length is None


def test_curve_that_never_reaches_the_baseline() -> None:
    losses = 2 * B + 30 * np.exp(-STEPS / 80)
    phases = detect_phases(STEPS, losses, B)
    assert phases == type(phases)(None, None, None)


def test_straight_drop_gives_a_plateau_of_length_zero() -> None:
    losses = 40 * np.exp(-STEPS / 120)  # 14.7 at step 200, 3.3 at step 300
    phases = detect_phases(STEPS, losses, B)
    assert phases.reached_baseline_step == phases.plateau_end_step
    assert phases.plateau_length == 0
    # The first point inside the reach band is already below the leave band.
    first_in = losses[STEPS == phases.reached_baseline_step][0]
    assert first_in < 0.9 * B


def test_curve_starting_below_the_band_is_instant() -> None:
    losses = np.full(STEPS.shape, 0.05 * B)
    phases = detect_phases(STEPS, losses, B)
    assert phases.reached_baseline_step == phases.plateau_end_step == phases.knowledge_step == STEPS[0]


def test_accuracy_criterion_and_nan() -> None:
    losses = three_phase_curve(STEPS)
    accs = np.clip((STEPS - 2500) / 1000, 0, 1)
    phases = detect_phases(STEPS, losses, B, accuracies=accs, knowledge_accuracy=0.5)
    assert phases.knowledge_step == STEPS[np.argmax(accs >= 0.5)]
    tracker = PhaseTracker(B)
    assert tracker.update(0, float("nan")) == []
    assert tracker.phase == 1
    with pytest.raises(ValueError, match="accuracy"):
        PhaseTracker(B, PhaseThresholds(knowledge_accuracy=0.5)).update(0, 1.0)


def test_online_tracker_reports_each_boundary_once_and_resumes() -> None:
    losses = three_phase_curve(STEPS)
    tracker, events = PhaseTracker(B), {}
    for i, (s, loss) in enumerate(zip(STEPS, losses, strict=True)):
        if i == len(STEPS) // 2:  # a checkpoint round trip half way
            state = json.loads(json.dumps(tracker.state_dict()))
            tracker = PhaseTracker()
            tracker.load_state_dict(state)
            assert tracker.update(int(s) - 100, float(losses[i - 1])) == []  # a replayed point is ignored
        for name in tracker.update(int(s), float(loss)):
            events.setdefault(name, []).append(int(s))
    assert sorted(events) == ["knowledge", "plateau_end", "reached_baseline"]
    assert all(len(v) == 1 for v in events.values())
    assert tracker.phases == detect_phases(STEPS, losses, B)


@pytest.mark.parametrize(
    "field, value",
    [("reach_tolerance", -0.1), ("leave_tolerance", 1.0), ("patience", 0), ("knowledge_fraction", 0.95)],
)
def test_bad_thresholds_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"phases.thresholds.{field}: "):
        PhaseDetector(thresholds=PhaseThresholds(**{field: value}))


def feed(detector: PhaseDetector, trainer: FakeTrainer, steps: np.ndarray, losses: np.ndarray) -> None:
    for s, loss in zip(steps, losses, strict=True):
        trainer.global_step = int(s)
        trainer.set_metrics({"val/attr_loss": float(loss), "baseline/attr_loss": B, "val/attr_acc": 0.0})
        detector.on_validation_end(trainer, None)


def test_phase_detector_state_round_trip_and_summary() -> None:
    losses = three_phase_curve(STEPS)
    half = len(STEPS) // 2
    first, trainer = PhaseDetector(), FakeTrainer()
    feed(first, trainer, STEPS[:half], losses[:half])
    resumed = PhaseDetector()
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    feed(resumed, trainer, STEPS[half:], losses[half:])
    expected = detect_phases(STEPS, losses, B)
    plateau = resumed.summary()["plateau"]
    assert plateau["start_step"] == expected.reached_baseline_step == resumed.reached_baseline_step
    assert plateau["end_step"] == expected.plateau_end_step == resumed.plateau_end_step
    assert plateau["knowledge_step"] == expected.knowledge_step
    assert plateau["monitor"] == "val/attr_loss" and plateau["thresholds"]["patience"] == 2
    assert resumed.state_key == "PhaseDetector{'monitor': 'val/attr_loss'}"
    assert not trainer.should_stop


def test_phase_detector_stops_on_knowledge_and_is_quiet_under_fast_dev_run() -> None:
    losses = three_phase_curve(STEPS)
    detector, trainer = PhaseDetector(stop_on_knowledge=True), FakeTrainer()
    feed(detector, trainer, STEPS, losses)
    assert trainer.should_stop and detector.stopped_on_knowledge
    quiet, dev = PhaseDetector(), FakeTrainer(fast_dev_run=1)
    feed(quiet, dev, STEPS, losses)
    assert quiet.tracker.last_step is None and quiet.plateau_end_step is None


def test_a_mistyped_monitor_fails_unless_strict_is_off() -> None:
    """Like EarlyStopping's ``strict``: a monitor that is never logged would give an empty plateau."""
    trainer = FakeTrainer()
    with pytest.raises(
        ConfigError, match=r"phases.monitor: a logged metric, one of \['baseline/attr_loss', "
    ):
        feed(PhaseDetector(monitor="val/attr_los"), trainer, STEPS[:1], three_phase_curve(STEPS)[:1])
    lenient = PhaseDetector(monitor="val/attr_los", strict=False)
    feed(lenient, trainer, STEPS, three_phase_curve(STEPS))
    assert lenient.tracker.last_step is None
    accuracy = PhaseDetector(thresholds=PhaseThresholds(knowledge_accuracy=0.5), accuracy_monitor="acc")
    with pytest.raises(ConfigError, match="phases.accuracy_monitor: a logged metric"):
        feed(accuracy, trainer, STEPS[:1], three_phase_curve(STEPS)[:1])


def test_every_run_gets_a_plateau_section(run_tiny) -> None:
    cli, run_dir = run_tiny()
    detectors = [c for c in cli.trainer.callbacks if isinstance(c, PhaseDetector)]
    assert len(detectors) == 1
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["plateau"]["monitor"] == "val/attr_loss"
    assert summary["plateau"]["baseline"] == pytest.approx(summary["baseline_attr_loss"], rel=1e-6)
    assert detectors[0].tracker.last_step == cli.trainer.global_step


def test_phase_detector_is_quiet_under_fast_dev_run(tmp_path) -> None:
    # default_root_dir: under fast_dev_run there is no logger dir, and last.ckpt would land in the cwd.
    cli = cli_main(
        tiny_args(tmp_path, "--trainer.fast_dev_run", "2", "--trainer.default_root_dir", str(tmp_path))
    )
    detector = next(c for c in cli.trainer.callbacks if isinstance(c, PhaseDetector))
    assert detector.tracker.last_step is None and detector.tracker.baseline is None
