"""The ``factdyn`` command: a small LightningCLI (fit / validate / test) with factdyn's defaults.

    factdyn fit --config configs/quickstart.yaml [--config more.yaml] [--data.sampler Zipf ...]
    factdyn toy fit --config configs/toy/pretrain.yaml      (the toy associative memory, factdyn.toy)
    factdyn sweep configs/sweeps/<file>.yaml [--parallel 2] (many runs: factdyn.sweep)
    factdyn report <run dirs...> --out reports/<name>       (figures and tables: factdyn.analysis.report)

Values known only once the data is defined (vocabulary size, maximum length, attribute cardinalities,
tokenizer fingerprint) are linked from the DataModule to the model at instantiation; since they are
``FactLearner`` init arguments, ``save_hyperparameters`` writes them into every checkpoint and
``FactLearner.load_from_checkpoint(path)`` works without the CLI.
"""

from __future__ import annotations

import sys

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from factdyn.callbacks import BucketMetrics, CheckpointSchedule, ExposureCounter, PhaseDetector, RunSummary
from factdyn.data import BiographyDataModule, IndividualSampler
from factdyn.system import FactLearner
from factdyn.toy import ToyMemory, ToyMemoryData

LINKED_FROM_DATA = (
    "vocab_size",
    "max_seq_len",
    "attributes",
    "attribute_cardinalities",
    "tokenizer_fingerprint",
)

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


def sampler_names() -> list[str]:
    """Names accepted by ``--data.sampler`` (every imported ``IndividualSampler`` subclass)."""
    found, todo = set(), [IndividualSampler]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            found.add(sub.__name__)
            todo.append(sub)
    return sorted(found)


class FactdynArgumentParser(LightningArgumentParser):
    """Adds the allowed values to jsonargparse's errors about the sampler."""

    def error(self, message: str, ex: Exception | None = None):  # type: ignore[override]
        if "sampler" in message:
            message += (
                f"\nAllowed values for data.sampler: {', '.join(sampler_names())} (or a full import path)"
            )
        return super().error(message, ex)


class FactdynCLI(LightningCLI):
    """LightningCLI with data→model links and always-on run bookkeeping callbacks.

    Always on: ``summary`` (summary.json), ``checkpoints`` (scheduled checkpoints), ``last_checkpoint``,
    ``exposures`` (per-individual exposure counts, sampler.json, exposures.csv) and ``bucket_metrics``
    (``val/*/bucket_<k>`` for non-uniform samplers; nothing for uniform).
    """

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for name in LINKED_FROM_DATA:
            parser.link_arguments(f"data.{name}", f"model.{name}", apply_on="instantiate")
        parser.link_arguments("seed_everything", "data.seed")
        parser.add_lightning_class_args(RunSummary, "summary")
        parser.add_lightning_class_args(CheckpointSchedule, "checkpoints")
        parser.add_lightning_class_args(ExposureCounter, "exposures")
        parser.add_lightning_class_args(BucketMetrics, "bucket_metrics")
        parser.add_lightning_class_args(ModelCheckpoint, "last_checkpoint")
        parser.add_lightning_class_args(PhaseDetector, "phases")
        parser.set_defaults(
            {
                "last_checkpoint.save_last": True,
                "last_checkpoint.save_top_k": 0,
                "last_checkpoint.every_n_train_steps": 100,
            }
        )


def cli_main(args: list[str] | None = None, run: bool = True) -> FactdynCLI:
    return FactdynCLI(
        FactLearner,
        BiographyDataModule,
        parser_class=FactdynArgumentParser,
        args=args,
        run=run,
        seed_everything_default=0,
        trainer_defaults=TRAINER_DEFAULTS,
        save_config_kwargs={"overwrite": True},
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


class ToyCLI(LightningCLI):
    """LightningCLI for the toy associative memory: same trainer defaults, no biography links or phases."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for name in ("dim", "n_classes"):
            parser.link_arguments(f"data.{name}", f"model.{name}")
        parser.link_arguments("seed_everything", "data.seed")
        parser.add_lightning_class_args(RunSummary, "summary")
        parser.add_lightning_class_args(ModelCheckpoint, "last_checkpoint")
        parser.set_defaults({"last_checkpoint.save_last": True, "last_checkpoint.save_top_k": 0})


def toy_cli_main(args: list[str] | None = None, run: bool = True) -> ToyCLI:
    return ToyCLI(
        ToyMemory,
        ToyMemoryData,
        args=args,
        run=run,
        seed_everything_default=0,
        trainer_defaults=TOY_TRAINER_DEFAULTS,
        save_config_kwargs={"overwrite": True},
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``factdyn <subcommand> ...``, ``factdyn toy <subcommand> ...``, ``factdyn sweep ...`` or
    ``factdyn report ...`` (the last two are plain argparse programs, not LightningCLI)."""
    words = list(argv) if argv is not None else sys.argv[1:]
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
    if argv is not None:
        argv = list(argv)
        if argv[:1] == ["toy"]:
            toy_cli_main(argv[1:])
        else:
            cli_main(argv)
        return
    if sys.argv[1:2] == ["toy"]:
        # Let LightningCLI read sys.argv itself (passing args as well makes it warn), with "toy" in the
        # program name so that --help reads "factdyn toy fit ...".
        sys.argv = [f"{sys.argv[0]} toy", *sys.argv[2:]]
        toy_cli_main()
    else:
        cli_main()


if __name__ == "__main__":
    main()
