"""The knowledge panel: its draw over the sampler's buckets, its exposure bookkeeping on a hand-made stream,
its file, and real tiny runs with every kind of sampler, resumed and not."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from factdyn.callbacks import ExposureCounter, KnowledgePanel
from factdyn.checks import ConfigError
from factdyn.cli import cli_main
from factdyn.data import (
    AdaptiveWarmUp,
    BiographyDataModule,
    Celebrities,
    ReplayMixture,
    SequentialGroups,
    Uniform,
    WarmUp,
    Zipf,
)
from factdyn.data.panel import bucket_shares, draw_panel, role_names
from factdyn.dynamics.panel_table import read_panel
from factdyn.run_layout import EXPOSURES, PANEL
from factdyn.training.content_hash import check_loadable, content_digest
from tests.helpers.fake_trainer import FakeTrainer
from tests.helpers.individual_recorders import load
from tests.helpers.runs import tiny_args

RECORDER = "tests.helpers.individual_recorders.IndividualRecorder"


# --- the draw ---------------------------------------------------------------------------------------------
def test_bucket_shares_are_equal_and_capped_by_small_buckets() -> None:
    assert bucket_shares([100, 100, 100, 100], 40).tolist() == [10, 10, 10, 10]
    assert bucket_shares([5, 1000], 100).tolist() == [5, 95]  # the small bucket gives all it has
    assert bucket_shares([3, 2], 100).tolist() == [3, 2]  # fewer individuals than the size: all of them
    assert bucket_shares([10, 10, 10], 10).sum() == 10


SAMPLERS = {
    "uniform": (Uniform(), None),
    "zipf": (Zipf(alpha=1.0, n_buckets=10), None),
    "celebrities": (Celebrities(n_celebrities=6, weight=8.0), None),
    "warmup": (WarmUp(warmup_individuals=10, warmup_epochs=1.0), None),
    "adaptive_warmup": (AdaptiveWarmUp(warmup_individuals=10), None),
    "groups": (SequentialGroups(n_groups=4, steps_per_group=5), None),
    "replay": (ReplayMixture(replay_weight=0.25), [("new", 12), ("train", 188)]),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_the_panel_covers_every_bucket_of_every_sampler(name: str) -> None:
    sampler, roles = SAMPLERS[name]
    sampler.bind(200, 8, seed=3, roles=roles)
    buckets = sampler.buckets()
    panel = draw_panel(200, 40, buckets, seed=3)
    assert len(panel) == len(np.unique(panel)) == 40 and (np.diff(panel) > 0).all()
    assert np.array_equal(panel, draw_panel(200, 40, buckets, seed=3))  # a function of the data seed
    assert not np.array_equal(panel, draw_panel(200, 40, buckets, seed=4))
    if buckets is not None:
        labels, sizes = np.unique(buckets, return_counts=True)
        got = np.array([(buckets[panel] == b).sum() for b in labels])
        assert (got >= 1).all(), f"{name}: a bucket has no panel individual"
        assert got.tolist() == bucket_shares(sizes, 40).tolist()
    if name == "replay":
        assert set(role_names(sampler.roles, panel)) == {"new", "train"}
        assert (role_names(sampler.roles, panel) == "new").sum() == 12  # all the new ones (bucket 0)


def test_role_names_follow_the_concatenated_index_space() -> None:
    roles = [("new", 3), ("train", 5)]
    assert role_names(roles, np.arange(8)).tolist() == ["new"] * 3 + ["train"] * 5


def test_a_panel_larger_than_the_population_is_all_of_it() -> None:
    assert draw_panel(5, 50, None, seed=0).tolist() == [0, 1, 2, 3, 4]


# --- exposure bookkeeping on a hand-made stream -----------------------------------------------------------
class ScriptedModule:
    """Stands in for FactLearner: per-value results that encode (individual, attribute), so the panel's
    mapping of sentence slots to attributes and of batch rows to individuals is checked exactly."""

    device = torch.device("cpu")

    def __init__(self) -> None:
        self.logged: dict[str, float] = {}

    def value_outcomes(self, batch: dict[str, Any]) -> tuple[torch.Tensor, ...]:
        individual = batch["individual"][:, None]
        attr = batch["value_attr"]
        loss = (10 * individual + attr).float()
        correct = attr == individual % 6
        return loss, correct, torch.zeros(0), torch.zeros(0)

    def log(self, name: str, value: float, **kwargs: Any) -> None:
        self.logged[name] = value


def scripted_trainer(tmp_path: Path, datamodule: Any, callbacks: list, max_steps: int) -> FakeTrainer:
    trainer = FakeTrainer(datamodule)
    trainer.callbacks = callbacks
    trainer.max_steps = max_steps
    trainer.world_size = 1
    trainer.is_global_zero = True
    trainer.log_dir = str(tmp_path)
    trainer.logger = None
    return trainer


def test_panel_rows_hold_the_exposures_of_a_hand_made_stream(tmp_path: Path) -> None:
    """A known sequence of training batches; the panel evaluated every second evaluation (and at the last):
    each row's exposures are that individual's count in the batches so far, its known bits and losses the
    scripted values of that individual and attribute."""
    dm = BiographyDataModule(n_individuals=20, n_unseen=0, batch_size=4, eval_batch_size=3, n_val_sequences=4)
    dm.setup("fit")
    counter, panel = ExposureCounter(), KnowledgePanel(size=6, every_n_evaluations=2, log_figures=False)
    trainer = scripted_trainer(tmp_path, dm, [counter, panel], max_steps=5)
    module = ScriptedModule()
    counter.setup(trainer, module, "fit")
    panel.setup(trainer, module, "fit")
    panel.on_fit_start(trainer, module)
    assert len(panel.individuals) == 6
    stream = [[0, 1, 1, 2], [3, 3, 3, 19], [1, 5, 7, 7], [0, 0, 0, 0], [19, 18, 17, 16]]
    expected: dict[int, np.ndarray] = {}
    for step, individuals in enumerate(stream, start=1):
        counter.on_train_batch_end(trainer, module, None, {"individual": torch.tensor(individuals)}, step)
        trainer.global_step = step
        panel.on_validation_epoch_end(trainer, module)  # an evaluation after every step
        expected[step] = np.bincount(np.concatenate(stream[:step]), minlength=20)[panel.individuals]
    table = read_panel(tmp_path / PANEL)
    assert table.steps().tolist() == [2, 4, 5]  # every 2nd evaluation, and the run's last
    for step in (2, 4, 5):
        rows = table.step == step
        assert table.individual[rows].tolist() == panel.individuals.tolist()
        assert table.exposures[rows].tolist() == expected[step].tolist(), step
    ind = table.individual[:, None]
    np.testing.assert_allclose(table.loss, 10 * ind + np.arange(6)[None, :])
    assert np.array_equal(table.known, np.arange(6)[None, :] == ind % 6)
    assert table.attributes == tuple(dm.attributes)
    assert set(table.role) == {"train"} and set(table.bucket) == {0}
    assert module.logged["panel/known_fraction"] == pytest.approx(1 / 6)


def test_evaluations_outside_fit_and_the_sanity_check_are_not_counted(tmp_path: Path) -> None:
    dm = BiographyDataModule(n_individuals=8, n_unseen=0, batch_size=2, eval_batch_size=4, n_val_sequences=2)
    dm.setup("fit")
    counter, panel = ExposureCounter(), KnowledgePanel(size=4, log_figures=False)
    trainer = scripted_trainer(tmp_path, dm, [counter, panel], max_steps=10)
    module = ScriptedModule()
    counter.setup(trainer, module, "fit")
    panel.setup(trainer, module, "fit")
    trainer.sanity_checking = True
    panel.on_validation_epoch_end(trainer, module)
    assert panel.n_evaluations == 0 and panel.steps == []


# --- checks -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size": -1}, "KnowledgePanel.size"),
        ({"size": 2.5}, "KnowledgePanel.size"),
        ({"every_n_evaluations": 0}, "KnowledgePanel.every_n_evaluations"),
        ({"figure_every_n": 0}, "KnowledgePanel.figure_every_n"),
        ({"filename": "../x.csv.gz"}, "KnowledgePanel.filename"),
        ({"log_figures": "yes"}, "KnowledgePanel.log_figures"),
    ],
)
def test_bad_values_name_their_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        KnowledgePanel(**kwargs)
    assert info.value.field == field and "\n" not in str(info.value)


def test_the_panel_needs_an_exposure_counter() -> None:
    dm = BiographyDataModule(n_individuals=8, n_unseen=0, batch_size=2, eval_batch_size=4, n_val_sequences=2)
    with pytest.raises(ConfigError, match="trainer.callbacks: an ExposureCounter"):
        KnowledgePanel(size=4).check_setup("fit", dm, ScriptedModule(), [])
    KnowledgePanel(size=0).check_setup("fit", dm, ScriptedModule(), [])  # no panel, nothing needed


# --- real tiny runs ---------------------------------------------------------------------------------------
def panel_run(log_dir: Path, record: Path, *extra: str) -> tuple[Any, Path]:
    args = tiny_args(
        log_dir,
        "--panel.size",
        "12",
        "--trainer.callbacks+=" + RECORDER,
        f"--trainer.callbacks.dirpath={record}",
        *extra,
    )
    cli = cli_main(args)
    return cli, Path(cli.trainer.log_dir)


def check_exposures_against_the_recorded_stream(run_dir: Path, record: Path, n_train: int) -> Any:
    """Every row's exposures are the count of its individual in the batches recorded before its step, and
    the last rows equal exposures.csv (the ExposureCounter's own table)."""
    table = read_panel(run_dir / PANEL)
    batches = load(record / "rank0.json")
    for step in table.steps():
        drawn = [i for s, individuals in batches.items() if s < step for i in individuals]
        counts = np.bincount(np.asarray(drawn, dtype=np.int64), minlength=n_train)
        rows = table.step == step
        assert table.exposures[rows].tolist() == counts[table.individual[rows]].tolist(), step
    final = np.loadtxt(run_dir / EXPOSURES, delimiter=",", skiprows=1, usecols=1, dtype=np.int64)
    last = table.step == table.steps()[-1]
    assert table.exposures[last].tolist() == final[table.individual[last]].tolist()
    return table


@pytest.mark.parametrize(
    ("name", "extra", "n_train"),
    [
        ("uniform", [], 64),
        ("groups", ["--data.sampler", "SequentialGroups", "--data.sampler.n_groups", "4"], 64),
        (
            "replay",
            [
                "--data.n_new",
                "8",
                "--data.train_roles",
                "[new, train]",
                "--data.sampler",
                "ReplayMixture",
                "--data.sampler.replay_weight",
                "0.5",
                "--data.n_new_sequences",
                "16",
            ],
            72,
        ),
    ],  # fmt: skip
)
def test_tiny_runs_write_the_panel_with_every_kind_of_sampler(
    tmp_path: Path, name: str, extra: list[str], n_train: int
) -> None:
    cli, run_dir = panel_run(tmp_path / "logs", tmp_path / "record", *extra)
    table = check_exposures_against_the_recorded_stream(run_dir, tmp_path / "record", n_train)
    assert table.steps().tolist() == [4, 8]  # the tiny preset evaluates at steps 4 and 8
    assert len(table) == 2 * 12 and len(np.unique(table.individual)) == 12
    buckets = cli.datamodule.sampler.buckets()
    if buckets is not None:
        assert set(table.bucket) == set(np.unique(buckets))
        assert table.bucket.tolist() == buckets[table.individual].tolist()
    if name == "replay":
        assert table.role[table.individual < 8].tolist() == ["new"] * int((table.individual < 8).sum())
        assert set(table.role) == {"new", "train"}
    panel_metrics = {k for k in cli.trainer.callback_metrics if k.startswith("panel/")}
    panel = next(c for c in cli.trainer.callbacks if isinstance(c, KnowledgePanel))
    assert panel_metrics == set(panel.metric_names(cli.datamodule))
    assert float(cli.trainer.callback_metrics["panel/known_fraction"]) == pytest.approx(
        table.known[-12:].mean()
    )


# --- resume -----------------------------------------------------------------------------------------------
PANEL_ARGS = ["--panel.size", "10", "--trainer.max_steps", "12"]
CRASH_AT_10 = ["--trainer.callbacks+=tests.helpers.fault_callbacks.CrashAt", "--trainer.callbacks.step", "10"]


def panel_text(run_dir: Path) -> str:
    with gzip.open(run_dir / PANEL, "rt") as f:
        return f.read()


@pytest.fixture(scope="module")
def uninterrupted_panel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cli = cli_main(tiny_args(tmp_path_factory.mktemp("ref") / "logs", *PANEL_ARGS))
    return Path(cli.trainer.log_dir)


@pytest.mark.parametrize("resume_from", ["last", "step=00000000.ckpt"])
def test_a_resumed_runs_panel_equals_an_uninterrupted_runs(
    tmp_path: Path, uninterrupted_panel: Path, resume_from: str
) -> None:
    """Killed at step 10 after evaluating at 4 and 8; last.ckpt is of step 8, taken before that step's
    evaluation: the resumed run drops the killed process's rows of step 8, evaluates 8 again, then 12."""
    logs = tmp_path / "logs"
    with pytest.raises(RuntimeError, match="CrashAt"):
        cli_main(tiny_args(logs, *PANEL_ARGS, *CRASH_AT_10))
    run_dir = logs / "tiny" / "version_0"
    assert read_panel(run_dir / PANEL).steps().tolist() == [4, 8]  # the killed process's rows
    ckpt = "last" if resume_from == "last" else str(run_dir / "checkpoints" / resume_from)
    cli_main(tiny_args(logs, *PANEL_ARGS, "--ckpt_path", ckpt))
    assert read_panel(run_dir / PANEL).steps().tolist() == [4, 8, 12]
    assert panel_text(run_dir) == panel_text(uninterrupted_panel)
    assert (run_dir / PANEL).read_bytes() == (uninterrupted_panel / PANEL).read_bytes()


def test_validate_and_test_from_a_panel_runs_checkpoint(uninterrupted_panel: Path, tmp_path: Path) -> None:
    """They restore callback states too, but have no panel to continue: no error, and no panel rows."""
    before = (uninterrupted_panel / PANEL).read_bytes()
    ckpt = str(uninterrupted_panel / "checkpoints" / "last.ckpt")
    for subcommand in ("validate", "test"):
        cli_main(tiny_args(tmp_path / subcommand, *PANEL_ARGS, "--ckpt_path", ckpt, subcommand=subcommand))
    assert (uninterrupted_panel / PANEL).read_bytes() == before
    assert not list(tmp_path.rglob(PANEL))


def test_resuming_with_another_panel_is_refused(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    with pytest.raises(RuntimeError, match="CrashAt"):
        cli_main(tiny_args(logs, *PANEL_ARGS, *CRASH_AT_10))
    with pytest.raises(ConfigError, match="panel.size: 10, the panel of the checkpoint's run"):
        cli_main(tiny_args(logs, *PANEL_ARGS, "--panel.size", "6", "--ckpt_path", "last"))


def test_the_panel_state_is_plain_tensors() -> None:
    """The state goes into checkpoints that are read with ``weights_only=True`` and hashed, empty or not."""
    content_digest({"callbacks": {"KnowledgePanel": KnowledgePanel(size=0).state_dict()}})
    panel = KnowledgePanel(size=2)
    panel.individuals, panel.attributes = np.array([1, 4]), ("a", "b")
    panel.steps, panel.n_evaluations = [3], 1
    panel.exposures, panel.known = [np.array([2, 0])], [np.array([[True, False], [False, False]])]
    panel.loss = [np.array([[0.5, 1.0], [2.0, 3.0]], dtype=np.float32)]
    state = panel.state_dict()
    check_loadable({"callbacks": {"KnowledgePanel": state}})
    content_digest({"callbacks": {"KnowledgePanel": state}})
    assert all(torch.is_tensor(v) for k, v in state.items() if k not in ("n_evaluations", "figure_step"))
    again = KnowledgePanel(size=2)
    again.individuals = np.array([1, 4])
    again.load_state_dict(state)
    assert again.steps == [3] and again.exposures[0].tolist() == [2, 0]
    assert again.known[0].tolist() == panel.known[0].tolist() and again.loss[0].dtype == np.float32
    assert again.n_evaluations == 1


def test_the_panel_changes_no_training_step(run_tiny) -> None:
    """The panel only measures: every scalar of a run without it is the same in a run with it (which is
    what lets the report treat ``panel.*`` as no factor, and runs from before the panel as seeds of the same
    setting)."""
    from factdyn.analysis.runs import read_scalars

    _, plain = run_tiny("--trainer.max_steps", "12", "--panel.size", "0")
    _, with_panel = run_tiny("--trainer.max_steps", "12", "--panel.size", "16")
    a, b = read_scalars(plain), read_scalars(with_panel)
    assert set(b) - set(a) and all(a[tag] == b[tag] for tag in a)
