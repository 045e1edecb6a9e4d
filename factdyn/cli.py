"""The ``factdyn`` command: a small LightningCLI (fit / validate / test) with factdyn's defaults.

    factdyn fit --config configs/quickstart.yaml [--config more.yaml] [--data.sampler Zipf ...]
    factdyn toy fit --config configs/toy/pretrain.yaml      (the toy associative memory, factdyn.toy)
    factdyn sweep configs/sweeps/<file>.yaml [--parallel 2] (many runs: factdyn.sweep)
    factdyn report <run dirs...> --out reports/<name>       (figures and tables: factdyn.analysis.report)
    factdyn archive <run dirs...> --to results/<name>       (the committed results: factdyn.analysis.archive)
    factdyn evidence [--check]                              (REPRODUCTION's tables: factdyn.analysis.evidence)
    factdyn predict <ckpt> [--individuals 0:100 ...]        (greedy answers as JSON lines: factdyn.inspection)
    factdyn ask <ckpt> "<full name>" [attribute]           (one individual's answers: factdyn.inspection)
    factdyn export <ckpt> --to transformer-lens <dir>      (the model for TransformerLens: factdyn.inspection)

Values known only once the data is defined (vocabulary size, maximum length, attribute cardinalities,
tokenizer fingerprint) are linked from the DataModule to the model at instantiation; since they are
``FactLearner`` init arguments, ``save_hyperparameters`` writes them into every checkpoint and
``FactLearner.load_from_checkpoint(path)`` works without the CLI.

A user error (a bad value, a name that matches nothing, a missing or unreadable file) is one line on stderr,
``factdyn: error: <field>: <allowed>, got <value>``, and exit status 2, before anything trains or is written
(:mod:`factdyn.errors`, :mod:`factdyn.preflight`); ``FACTDYN_DEBUG=1`` shows the traceback too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import DefaultHelpFormatter
from lightning.pytorch import Trainer, seed_everything
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from factdyn.callbacks import (
    BucketMetrics,
    CheckpointSchedule,
    ExposureCounter,
    HallucinationExamples,
    KnowledgePanel,
    NonFiniteGuard,
    PhaseDetector,
    PreemptionCheckpoint,
    RunSummary,
    TensorBoardHparams,
    TensorBoardLayout,
    ValidationAtStart,
    ValidationOnResume,
)
from factdyn.callbacks.media import forget_media_from
from factdyn.callbacks.progress import with_progress_display
from factdyn.checks import ConfigError, require
from factdyn.cli_parser import FactdynArgumentParser
from factdyn.data import BiographyDataModule
from factdyn.errors import reported_user_errors
from factdyn.library_noise import evaluation_quiet, silence_library_noise
from factdyn.preflight import as_configured, preflight
from factdyn.process import keep_freed_memory
from factdyn.run_layout import EVAL_DIR, evaluations_path, run_checkpoint
from factdyn.shipped_configs import resolve_config_args
from factdyn.toy import ToyMemory, ToyMemoryData
from factdyn.training.checkpoint_io import load_lightning_checkpoint
from factdyn.training.disk import require_writable
from factdyn.training.evaluation_record import Evaluation, evaluated_metrics, record_evaluation
from factdyn.training.evaluation_source import (
    EVALUATING,
    data_defaults,
    evaluation_settings,
    refuse_other_population,
)
from factdyn.training.module import FactLearner
from factdyn.training.run_directory import (
    ResumePoint,
    claim_run_directory,
    discard_new_event_files,
    event_files,
    install_checkpoint_io,
    refuse_contradicting_flags,
    refuse_existing_run,
    remove_failed_run,
    resolve_resume,
)
from factdyn.training.run_loggers import (
    continue_csv_metrics,
    is_tensorboard,
    run_logger_args,
    runs_root,
    unlogged_runs_root,
)

LINKED_FROM_DATA: dict[str, str] = {
    "data.vocab_size": "model.config.vocab_size",
    "data.max_seq_len": "model.config.max_seq_len",
    "data.attributes": "model.attributes",
    "data.attribute_cardinalities": "model.attribute_cardinalities",
    "data.tokenizer_fingerprint": "model.tokenizer_fingerprint",
}
"""What the data defines, linked into the model at instantiation (and so saved in every checkpoint)."""
LINK_SOURCES = {target: source for source, target in LINKED_FROM_DATA.items()}
LINK_SOURCES["data.seed"] = "seed_everything"
"""Each linked field and the option that sets it, for messages about the field."""

TRAINER_DEFAULTS = {
    "max_steps": 16_000,
    "val_check_interval": 125,
    "check_val_every_n_epoch": None,
    "log_every_n_steps": 10,
    "num_sanity_val_steps": 0,
    "use_distributed_sampler": False,  # samplers shard by rank themselves (Lightning issue #21447)
    "logger": {
        "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
        "init_args": {"save_dir": "logs", "name": "factdyn", "default_hp_metric": False},
    },
}


UNLOGGED_RUNS_ROOT = Path(TRAINER_DEFAULTS["logger"]["init_args"]["save_dir"]) / str(
    TRAINER_DEFAULTS["logger"]["init_args"]["name"]
)
"""Where the runs of a ``fit`` with ``trainer.logger false`` go (``logs/factdyn/version_<k>``), unless
``trainer.default_root_dir`` names another folder."""

ALWAYS_ON: dict[str, type[Callback]] = {
    "summary": RunSummary,
    "exposures": ExposureCounter,
    "bucket_metrics": BucketMetrics,
    "panel": KnowledgePanel,
    "last_checkpoint": ModelCheckpoint,
    "phases": PhaseDetector,
    "hallucination_examples": HallucinationExamples,
    "nonfinite": NonFiniteGuard,
    "validation_on_resume": ValidationOnResume,
    "tensorboard_layout": TensorBoardLayout,
    "tensorboard_hparams": TensorBoardHparams,
    # After every callback whose state a training step changes (exposure counts, guards), so a scheduled
    # checkpoint holds the state after its step, as last.ckpt (ordered last by Lightning) does.
    "checkpoints": CheckpointSchedule,
    # After the checkpoints too: a SIGTERM's last.ckpt holds the state after its step, as last.ckpt does.
    "preemption": PreemptionCheckpoint,
    # After the step-0 checkpoint (written at train start): that file is the model before anything, as in
    # a run without this evaluation, and a run resumed from it evaluates step 0 again.
    "validation_at_start": ValidationAtStart,
}
"""The callbacks of every ``factdyn`` run, by config key, in the order the Trainer gets them."""

USER_ERRORS = (MisconfigurationException, yaml.YAMLError)
"""Exceptions printed as one line besides factdyn's own user errors (:mod:`factdyn.errors`)."""


PROGRAMS_HELP = """Watch a language model learn facts (Zucchet et al. 2025). Every program has its --help:

  factdyn fit | validate | test ...          train a run, evaluate a checkpoint (the subcommands below)
  factdyn toy fit | validate | test ...      the toy associative memory
  factdyn sweep FILE [--parallel K]          a grid of runs
  factdyn report RUNS... --out DIR           the paper's figures and tables from runs
  factdyn archive RUNS... --to DIR           copy finished runs into the committed results archive
  factdyn evidence [--check]                 REPRODUCTION.md's tables from the archive
  factdyn predict CKPT [--individuals ...]   greedy answers for chosen individuals, as JSON lines
  factdyn ask CKPT "FULL NAME" [ATTRIBUTE]   what the model answers about one individual
  factdyn export CKPT --to transformer-lens DIR
                                             the model for TransformerLens"""
"""``factdyn --help``'s description: every program, LightningCLI's subcommands and those dispatched
before it (:func:`_dispatch`)."""


class ProgramsHelpFormatter(argparse.RawDescriptionHelpFormatter, DefaultHelpFormatter):
    """jsonargparse's help, with the description's lines kept as written (the program list)."""


class CheckedCLI(LightningCLI):
    """A LightningCLI that runs :func:`~factdyn.preflight.preflight` for its subcommand before it builds the
    Trainer (not with ``run=False``: nothing runs then, and the callbacks check at ``setup``), and whose
    ``validate`` / ``test`` need a checkpoint, run without a logger and record their metrics in the
    checkpoint's run, ``<run>/eval/``, at its step (:mod:`factdyn.training.evaluation_record`)."""

    evaluation: Evaluation | None = None
    """The ``validate`` / ``test`` being run and where its results go (set while parsing ``ckpt_path``)."""

    def _plan_evaluation(self, checkpoint: dict[str, Any] | None, settings: dict[str, Any]) -> None:
        """For ``validate`` / ``test``: refuse a missing checkpoint, then plan where the results go."""
        subcommand = self.config.get("subcommand")
        path = self.config[subcommand].get("ckpt_path")
        require(
            checkpoint is not None,
            "ckpt_path",
            f"a checkpoint file to evaluate (factdyn {subcommand} measures a trained run's checkpoint and "
            "records the result in that run's eval/ folder)",
            path,
        )
        self.evaluation = Evaluation(subcommand, Path(path), int(checkpoint.get("global_step", 0)), settings)
        require_writable(self.evaluation.home / EVAL_DIR, "ckpt_path (its run's eval/ folder)")

    def before_instantiate_classes(self) -> None:
        if self.evaluation is not None:
            # Into the run it measures (record_evaluation), not a run version of its own: no logger, and
            # whatever the callbacks write as files goes to the evaluation's folder.
            trainer = self.config[self.subcommand]["trainer"]
            trainer["logger"] = False
            trainer["default_root_dir"] = str(self.evaluation.folder)

    def _run_subcommand(self, subcommand: str) -> None:
        if self.evaluation is None:
            super()._run_subcommand(subcommand)
            return
        with evaluation_quiet():
            super()._run_subcommand(subcommand)
        if self.trainer.is_global_zero:
            record = self.evaluation.record(evaluated_metrics(self.trainer.callback_metrics))
            folder = record_evaluation(self.evaluation.home, record)
            rank_zero_info(
                f"factdyn: {self.evaluation.name} of step {self.evaluation.step} recorded in "
                f"{evaluations_path(self.evaluation.home)} (TensorBoard: {folder})"
            )

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """Lightning's subcommands but ``predict``: ``factdyn predict`` is a program of its own (the data
        has no prediction set, and Lightning's would start a run version)."""
        return {k: v for k, v in LightningCLI.subcommands().items() if k != "predict"}

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Callback]) -> Trainer:
        if self.subcommand is not None:
            extra = config.get("callbacks") or []
            extra = list(extra) if isinstance(extra, (list, tuple)) else [extra]
            everything = [*extra, *callbacks]
            preflight(self.subcommand, self.config[self.subcommand], self.datamodule, self.model, everything)
        return super()._instantiate_trainer(config, with_progress_display(config, callbacks))

    def _set_seed(self) -> None:
        """Lightning's seeding after a check of the seed, without its "Seed set to" line (the seed is in the
        run's config.yaml; stderr stays for errors)."""
        config = self.config[self.subcommand] if self.subcommand else self.config
        seed = config.get("seed_everything")
        if seed is False:
            return
        require(
            seed is True or seed is None or (isinstance(seed, int) and 0 <= seed < 2**32),
            "seed_everything",
            f"an integer in [0, {2**32 - 1}] or true/false",
            seed,
        )
        config["seed_everything"] = seed_everything(
            None if seed is True else seed, workers=True, verbose=False
        )


class FactdynCLI(CheckedCLI):
    """LightningCLI with data→model links, always-on run bookkeeping callbacks and safe runs.

    ``fit --ckpt_path last`` resumes the newest run of the logger's ``<save_dir>/<name>``: the newest valid
    checkpoint of its newest ``version_*`` (``last.ckpt``, or the newest valid ``step=*.ckpt`` if it is
    corrupt), logging on in the same run directory; if that run has no such checkpoint, or finished, it stops
    with one line and touches nothing (never an older run). A checkpoint path inside such a run directory
    continues that run too (not a finished one). A resume refuses ``model.*`` / ``data.*`` values that differ
    from the checkpoint's, purges the interrupted process's TensorBoard events from the checkpoint's step on,
    and rewrites ``config.yaml`` only once the checkpoint has been restored. A fresh ``fit`` claims a new
    ``version_*`` atomically (concurrent starts get distinct ones), never writes into an existing run
    directory, and a run that fails before its first checkpoint leaves no run directory behind. Every
    checkpoint goes through :class:`~factdyn.training.checkpoint_io.AtomicCheckpointIO`.

    ``validate`` / ``test --ckpt_path <file>`` evaluate on the checkpoint's population: its saved data
    settings are the defaults, and a config or flag contradicting them is one line naming every such field
    (:mod:`factdyn.training.evaluation_source`); their results go into ``<run>/eval/`` (:class:`CheckedCLI`).

    Always on: ``summary`` (summary.json), ``checkpoints`` (scheduled checkpoints), ``last_checkpoint``,
    ``exposures`` (per-individual exposure counts, sampler.json, exposures.csv), ``bucket_metrics``
    (``val/*/bucket_<k>`` for non-uniform samplers; nothing for uniform) and ``panel`` (the knowledge
    panel, panel.csv.gz, when ``panel.size > 0``).
    """

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for source, target in LINKED_FROM_DATA.items():
            parser.link_arguments(source, target, apply_on="instantiate")
        parser.link_arguments("seed_everything", "data.seed")
        for key, callback in ALWAYS_ON.items():
            parser.add_lightning_class_args(callback, key)
        parser.set_defaults(
            {
                "last_checkpoint.save_last": True,
                "last_checkpoint.save_top_k": 0,
                "last_checkpoint.every_n_train_steps": 100,
                # A resumed run rewrites its own last.ckpt (a fresh run never shares a directory).
                "last_checkpoint.enable_version_counter": False,
            }
        )

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except ConfigError as error:
            config = self.config[self.subcommand] if self.subcommand else self.config
            named = as_configured(error, config, ALWAYS_ON)
            if named is error:
                raise
            raise named from error

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        # Kept for a second parse over a checkpoint's data settings (_evaluate_on_checkpoint_population).
        self.parsed_args = args
        super().parse_arguments(parser, args)

    def _parse_ckpt_path(self) -> None:
        checkpoint = verify_ckpt_path(self.config)
        subcommand = self.config.get("subcommand")
        self.evaluation = None
        if subcommand in EVALUATING:
            if checkpoint is not None:
                self._evaluate_on_checkpoint_population(subcommand, checkpoint)
            settings = evaluation_settings(subcommand, checkpoint or {}, self.config[subcommand]["data"])
            self._plan_evaluation(checkpoint, settings)
        # Not for fit: Lightning would parse the checkpoint's hyperparameters over the given model flags and
        # so drop a contradicting one silently; refuse_contradicting_flags compares them instead.
        if subcommand != "fit":
            super()._parse_ckpt_path()

    def _evaluate_on_checkpoint_population(self, subcommand: str, checkpoint: dict[str, Any]) -> None:
        """``validate`` / ``test``: the checkpoint's data settings as defaults, the command line parsed again
        over them, and a config or flag that contradicts its population refused
        (:mod:`factdyn.training.evaluation_source`)."""
        config = self.config[subcommand]
        defaults = data_defaults(checkpoint, set(vars(config["data"])))
        if not defaults:
            rank_zero_warn(
                f"{config['ckpt_path']} records no data settings (not written by factdyn fit): "
                "evaluating on the data of the config and flags"
            )
            return
        resolved = config["ckpt_path"]  # a run directory given is its checkpoint (verify_ckpt_path)
        self._parser(subcommand).set_defaults(defaults)
        self.parse_arguments(self.parser, self.parsed_args)
        config = self.config[subcommand]
        config["ckpt_path"] = resolved
        refuse_other_population(config["ckpt_path"], checkpoint, config["data"], LINK_SOURCES)

    # --- before instantiation: resolve --ckpt_path, continue in the resumed run's directory ---------------
    def before_instantiate_classes(self) -> None:
        self.resume: ResumePoint | None = None
        self.claimed_dir: Path | None = None
        self.numbered_logger: TensorBoardLogger | CSVLogger | None = None
        self.unlogged_root: Path | None = None
        super().before_instantiate_classes()
        if self.subcommand != "fit":
            return
        config = self.config["fit"]
        if config["trainer"].get("fast_dev_run"):
            # Lightning's ModelCheckpoint still writes last.ckpt under fast_dev_run, and with no logger
            # directory that is ./checkpoints: a debugging run writes nothing.
            config["last_checkpoint"]["save_last"] = False
            return
        # No logger: the run still gets <root>/version_<k> (claimed at run time), not the working directory.
        self.unlogged_root = unlogged_runs_root(config, UNLOGGED_RUNS_ROOT)
        if self.unlogged_root is not None:
            config["trainer"]["default_root_dir"] = str(self.unlogged_root)
        if config.get("ckpt_path") is None:
            return
        logger = run_logger_args(config)
        self.resume = resolve_resume(config["ckpt_path"], runs_root(config, UNLOGGED_RUNS_ROOT))
        config["ckpt_path"] = str(self.resume.path)
        if self.resume.run_dir is not None and logger is None:
            config["trainer"]["default_root_dir"] = str(self.resume.run_dir)
        elif self.resume.run_dir is not None:
            logger["version"] = self.resume.run_dir.name
            if is_tensorboard(config):
                # The resumed process writes every step from the checkpoint's on again (train/* of step k
                # is logged by batch k, the validation of the checkpoint's step is rerun): TensorBoard hides
                # the interrupted process's events from this step on (a CSVLogger's rows: below).
                logger["purge_step"] = self.resume.step
        rank_zero_info(f"resuming from {self.resume.path} (step {self.resume.step})")

    # --- the trainer: atomic checkpoints, never overwrite a run directory ---------------------------------
    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        if self.subcommand == "fit" and self.resume is not None:
            hparams = {"model": self.model.hparams, "data": getattr(self.datamodule, "hparams", {})}
            refuse_contradicting_flags(self.resume, hparams, LINK_SOURCES)
        trainer = super().instantiate_trainer(**kwargs)
        install_checkpoint_io(trainer, resolved_config(self))
        # Before check_log_dir reads the log directory, which fixes Lightning's next free version number.
        self.numbered_logger = claimable_logger(trainer)
        check_log_dir(trainer, self.subcommand)
        for callback in trainer.callbacks:
            if isinstance(callback, RunConfigSaver):
                callback.defer = self.subcommand == "fit" and self.resume is not None
        if self.subcommand == "fit" and not trainer.fast_dev_run and not self.continues_run:
            numbered = self.numbered_logger is not None or self.unlogged_root is not None
            if not numbered and trainer.log_dir is not None:
                refuse_existing_run(trainer.log_dir)
        if self.continues_run:
            if isinstance(trainer.logger, CSVLogger):
                continue_csv_metrics(trainer.logger, self.resume.step)
            forget_media_from(self.resume.run_dir, self.resume.step)
        return trainer

    @property
    def continues_run(self) -> bool:
        """Whether this ``fit`` resumes in the run directory of its checkpoint (else it starts a new one)."""
        return self.resume is not None and self.resume.run_dir is not None

    # --- running: a new run claims its directory; one that fails before its first checkpoint leaves nothing
    def _run_subcommand(self, subcommand: str) -> None:
        new_run = subcommand == "fit" and not self.trainer.fast_dev_run and not self.continues_run
        logger = self.numbered_logger if new_run else None
        root = logger.root_dir if logger is not None else self.unlogged_root if new_run else None
        if root is not None and self.trainer.global_rank == 0:
            # Lightning's next free number is what a second fit starting at the same moment picks too (and
            # both write into it): the version is the directory this process created.
            self.claimed_dir = claim_run_directory(root)
            if logger is not None:
                logger._version = self.claimed_dir.name
            else:  # no logger: the run directory is the trainer's root (checkpoints, log_dir)
                self.trainer._default_root_dir = str(self.claimed_dir)
        log_dir = self.trainer.log_dir if not self.trainer.fast_dev_run else None
        existed = log_dir is not None and Path(log_dir).exists() and self.claimed_dir is None
        events = event_files(log_dir) if log_dir is not None and self.continues_run else set()
        try:
            super()._run_subcommand(subcommand)
        except BaseException:
            if log_dir is not None and not existed and subcommand == "fit":
                remove_failed_run(log_dir)
            trained = self.resume is not None and self.trainer.global_step > self.resume.step
            if log_dir is not None and self.continues_run and not trained:
                # A resume that failed before training a step: its events file holds only TensorBoard's
                # purge, which would hide the interrupted run's events from the checkpoint's step on.
                discard_new_event_files(log_dir, events)
            raise


def verify_ckpt_path(config: Any) -> dict[str, Any] | None:
    """Before LightningCLI's own ``torch.load`` of ``--ckpt_path`` (it reads the file's hyperparameters): a
    one-line error naming an empty, truncated, corrupt, unsafe or foreign file. Returns the loaded
    checkpoint (``None`` when ``--ckpt_path`` names no file). For ``validate`` / ``test`` a run directory
    stands for its checkpoint (:func:`~factdyn.run_layout.run_checkpoint`), as for ``factdyn ask``."""
    subcommand = config.get("subcommand")
    path = config[subcommand].get("ckpt_path") if subcommand else None
    if subcommand in EVALUATING and path and Path(path).is_dir():
        found = run_checkpoint(path)
        if found is not None:
            config[subcommand]["ckpt_path"] = path = str(found)
    if path and Path(path).is_file():
        return load_lightning_checkpoint(path)
    return None


def check_log_dir(trainer: Trainer, subcommand: str | None) -> None:
    """A one-line error, before anything runs, when the run directory cannot be written (read-only)."""
    if trainer.fast_dev_run or trainer.log_dir is None or (subcommand != "fit" and not trainer.loggers):
        return
    field = "trainer.logger.init_args.save_dir" if trainer.loggers else "trainer.default_root_dir"
    require_writable(trainer.log_dir, field)


def claimable_logger(trainer: Trainer) -> TensorBoardLogger | CSVLogger | None:
    """The trainer's one TensorBoard or CSV logger when it numbers its run directory itself (``version``
    not given), else ``None``."""
    if len(trainer.loggers) != 1 or not isinstance(trainer.logger, (TensorBoardLogger, CSVLogger)):
        return None
    return trainer.logger if trainer.logger._version is None else None


class RunConfigSaver(SaveConfigCallback):
    """Lightning's config.yaml writer, which for a resumed ``fit`` (``defer``, set by the CLI) waits until
    the checkpoint has been restored (train start): a resume that fails (a checkpoint that does not fit the
    model, a failing callback state) leaves the run's config.yaml as the interrupted run wrote it."""

    defer: bool = False

    def setup(self, trainer: Trainer, pl_module: Any, stage: str) -> None:
        if not (self.defer and stage == "fit"):
            super().setup(trainer, pl_module, stage)

    def on_train_start(self, trainer: Trainer, pl_module: Any) -> None:
        if self.defer:
            self.defer = False
            super().setup(trainer, pl_module, "fit")


def resolved_config(cli: LightningCLI) -> str | None:
    """The subcommand's resolved configuration as YAML (recorded in every checkpoint)."""
    if cli.subcommand is None:
        return None
    return cli._parser(cli.subcommand).dump(cli.config[cli.subcommand], skip_none=False)


def cli_main(args: list[str] | None = None, run: bool = True) -> FactdynCLI:
    return FactdynCLI(
        FactLearner,
        BiographyDataModule,
        parser_class=FactdynArgumentParser,
        args=args,
        run=run,
        seed_everything_default=0,
        trainer_defaults=TRAINER_DEFAULTS,
        save_config_callback=RunConfigSaver,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"description": PROGRAMS_HELP, "formatter_class": ProgramsHelpFormatter},
    )


TOY_TRAINER_DEFAULTS = {
    **TRAINER_DEFAULTS,
    "val_check_interval": 500,
    "log_every_n_steps": 50,
    "logger": {
        "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
        "init_args": {"save_dir": "logs", "name": "toy", "default_hp_metric": False},
    },
}


TOY_HELP = "The toy associative memory (docs/toy.md): factdyn toy fit | validate | test."


class ToyCLI(CheckedCLI):
    """LightningCLI for the toy associative memory: same trainer defaults, no biography links or phases."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for name in ("dim", "n_classes"):
            parser.link_arguments(f"data.{name}", f"model.{name}")
        parser.link_arguments("seed_everything", "data.seed")
        parser.add_lightning_class_args(RunSummary, "summary")
        parser.add_lightning_class_args(PreemptionCheckpoint, "preemption")
        parser.add_lightning_class_args(ModelCheckpoint, "last_checkpoint")
        parser.set_defaults({"last_checkpoint.save_last": True, "last_checkpoint.save_top_k": 0})

    def _parse_ckpt_path(self) -> None:
        checkpoint = verify_ckpt_path(self.config)
        self.evaluation = None
        if self.config.get("subcommand") in EVALUATING:
            self._plan_evaluation(checkpoint, {})
        super()._parse_ckpt_path()

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        trainer = super().instantiate_trainer(**kwargs)
        install_checkpoint_io(trainer, resolved_config(self))
        check_log_dir(trainer, self.subcommand)
        return trainer


def toy_cli_main(args: list[str] | None = None, run: bool = True) -> ToyCLI:
    return ToyCLI(
        ToyMemory,
        ToyMemoryData,
        parser_class=FactdynArgumentParser,
        args=args,
        run=run,
        seed_everything_default=0,
        trainer_defaults=TOY_TRAINER_DEFAULTS,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"description": TOY_HELP},
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``factdyn <subcommand> ...``, ``factdyn toy <subcommand> ...``, ``factdyn sweep ...``,
    ``factdyn report ...``, ``factdyn archive ...``, ``factdyn evidence ...``, ``factdyn predict ...``,
    ``factdyn ask ...`` or ``factdyn export ...`` (the last seven are plain argparse programs, not
    LightningCLI; :data:`PROGRAMS_HELP` lists them all in ``factdyn --help``).

    A user error is one line on stderr and exit status 2 (:mod:`factdyn.errors`)."""
    silence_library_noise()
    with reported_user_errors(USER_ERRORS):
        _dispatch(argv)


def _dispatch(argv: list[str] | None) -> None:
    # A --config that is not here may name a config shipped with the package (factdyn.shipped_configs).
    words = resolve_config_args(list(argv) if argv is not None else sys.argv[1:])
    if argv is None:
        sys.argv[1:] = words
    if words[:1] == ["sweep"]:
        from factdyn.sweep import main as sweep_main

        code = sweep_main(words[1:])
        if code:
            sys.exit(code)
        return
    if words[:1] == ["report"]:
        from factdyn.analysis.report import main as report_main

        report_main(words[1:])
        return
    if words[:1] == ["archive"]:
        from factdyn.analysis.archive import main as archive_main

        archive_main(words[1:])
        return
    if words[:1] == ["evidence"]:
        from factdyn.analysis.evidence import main as evidence_main

        evidence_main(words[1:])
        return
    if words[:1] in (["predict"], ["ask"], ["export"]):
        from factdyn.inspection.commands import main as inspection_main

        inspection_main(words)
        return
    # Before the LightningCLI builds anything: see factdyn/process.py. The sweep, report, archive,
    # evidence and inspection programs above train nothing (a sweep's runs are factdyn processes of their
    # own).
    keep_freed_memory()
    toy = words[:1] == ["toy"]
    run_cli = toy_cli_main if toy else cli_main
    if argv is not None:
        run_cli(words[1:] if toy else words)
        return
    if toy:
        # Let LightningCLI read sys.argv itself (passing args as well makes it warn), with "toy" in the
        # program name so that --help reads "factdyn toy fit ...".
        sys.argv = [f"{sys.argv[0]} toy", *sys.argv[2:]]
    run_cli()


if __name__ == "__main__":
    main()
