"""Table of bad inputs: each fails before training, naming the field and the allowed values, leaving nothing.

Each case runs ``factdyn fit`` in-process on the tiny preset with one bad setting (from the current
directory ``tmp_path``, so stray files would be seen) and checks: the error names the field and what is
allowed, no training step ran, and no run directory, checkpoint or event file is left anywhere.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path

import pytest

from factdyn.cli import LINKED_FROM_DATA, cli_main
from factdyn.model import TransformerConfig
from factdyn.training.checkpoint_files import save_checkpoint_file
from tests.helpers.runs import tiny_args

AWU = ["--data.sampler", "AdaptiveWarmUp", "--data.sampler.warmup_individuals", "8"]
STATS = ["--trainer.callbacks+=factdyn.callbacks.AttentionStatistics"]
PATCH = ["--trainer.callbacks+=factdyn.callbacks.AttentionPatching"]
HALL = ["--trainer.callbacks+=factdyn.callbacks.HallucinationExamples"]
SWITCH = ["--trainer.callbacks+=factdyn.callbacks.AdaptiveWarmUpSwitch"]

# (case id, extra CLI args, substrings the error must contain: the field, then the allowed values)
CASES: list[tuple[str, list[str], list[str]]] = [
    # --- data ---
    ("n_individuals negative", ["--data.n_individuals", "-3"], ["data.n_individuals", ">= 1"]),
    ("n_individuals zero", ["--data.n_individuals", "0"], ["data.n_individuals", ">= 1"]),
    ("n_individuals not a number", ["--data.n_individuals", "abc"], ["data.n_individuals", "int"]),
    ("batch_size float", ["--data.batch_size", "2.5"], ["data.batch_size", "int"]),
    ("n_unseen negative", ["--data.n_unseen", "-1"], ["data.n_unseen", ">= 0"]),
    ("n_new negative", ["--data.n_new", "-2"], ["data.n_new", ">= 0"]),
    ("n_templates_train zero", ["--data.n_templates_train", "0"], ["data.n_templates_train", "in [1, 25]"]),
    ("n_templates_eval too many", ["--data.n_templates_eval", "26"], ["data.n_templates_eval", "in [1, 25]"]),
    (
        "train + eval templates > templates",
        ["--data.n_templates_eval", "10"],
        ["data.n_templates_train + data.n_templates_eval", "at most 25"],
    ),
    ("batch_size zero", ["--data.batch_size", "0"], ["data.batch_size", ">= 1"]),
    ("eval_batch_size negative", ["--data.eval_batch_size", "-4"], ["data.eval_batch_size", ">= 1"]),
    ("n_val_sequences zero", ["--data.n_val_sequences", "0"], ["data.n_val_sequences", ">= 1"]),
    ("n_unseen_sequences negative", ["--data.n_unseen_sequences", "-1"], ["data.n_unseen_sequences", ">= 0"]),
    ("num_workers negative", ["--data.num_workers", "-1"], ["data.num_workers", ">= 0"]),
    ("n_new_sequences negative", ["--data.n_new_sequences", "-1"], ["data.n_new_sequences", ">= 0"]),
    ("pad_to_multiple zero", ["--data.pad_to_multiple", "0"], ["data.pad_to_multiple", ">= 1"]),
    ("pin_memory not a bool", ["--data.pin_memory", "sometimes"], ["pin_memory"]),
    ("seed negative", ["--seed_everything", "-1"], ["seed_everything", "[0, 4294967295]"]),
    (
        "shuffle_sentences not a bool",
        ["--data.shuffle_sentences", "maybe"],
        ["data.shuffle_sentences", "bool"],
    ),
    # --- sampler ---
    ("unknown sampler", ["--data.sampler", "NoSuchSampler"], ["data.sampler", "AdaptiveWarmUp, Celebrities"]),
    (
        "warmup_individuals zero",
        [*AWU[:2], "--data.sampler.warmup_individuals", "0"],
        ["data.sampler.warmup_individuals", ">= 1"],
    ),
    (
        "warmup_individuals > N",
        [*AWU[:2], "--data.sampler.warmup_individuals", "1000"],
        ["data.sampler.warmup_individuals", "at most the 64 training individuals"],
    ),
    (
        "max_warmup_steps negative",
        [*AWU, "--data.sampler.max_warmup_steps", "-1"],
        ["data.sampler.max_warmup_steps", ">= 0 or null"],
    ),
    ("switch callback without AdaptiveWarmUp", SWITCH, ["data.sampler", "AdaptiveWarmUp"]),
    ("switch callback with workers", [*AWU, *SWITCH, "--data.num_workers", "1"], ["data.num_workers", "0"]),
    # --- model ---
    (
        "heads do not divide d_model",
        ["--model.config.n_head", "3"],
        ["model.config.n_head", "divisor of model.config.d_model"],
    ),
    ("n_layer zero", ["--model.config.n_layer", "0"], ["model.config.n_layer", "an integer >= 1"]),
    ("d_model negative", ["--model.config.d_model", "-16"], ["model.config.d_model", "an integer >= 1"]),
    ("d_mlp zero", ["--model.config.d_mlp", "0"], ["model.config.d_mlp", "an integer >= 1"]),
    (
        "d_rnn not a multiple of n_head",
        ["--model.config.d_rnn", "3"],
        ["model.config.d_rnn", "multiple of model.config.n_head"],
    ),
    ("dropout >= 1", ["--model.config.dropout", "1.5"], ["model.config.dropout", "[0, 1)"]),
    (
        "unknown attention",
        ["--model.config.attention", "flash"],
        ["model.config.attention", "fused", "explicit"],
    ),
    ("lr negative", ["--model.lr", "-1"], ["model.lr", "> 0"]),
    ("lr zero", ["--model.lr", "0"], ["model.lr", "> 0"]),
    ("min_lr above lr", ["--model.min_lr", "1"], ["model.min_lr", "in [0, model.lr = "]),
    ("unknown lr_schedule", ["--model.lr_schedule", "linear"], ["model.lr_schedule", "cosine", "constant"]),
    ("weight_decay negative", ["--model.weight_decay", "-0.1"], ["model.weight_decay", ">= 0"]),
    ("beta2 >= 1", ["--model.betas", "[0.9, 1.5]"], ["model.betas", "[0, 1)"]),
    ("warmup_steps negative", ["--model.warmup_steps", "-5"], ["model.warmup_steps", ">= 0"]),
    ("decay_steps zero", ["--model.decay_steps", "0"], ["model.decay_steps", "an integer >= 1 or null"]),
    # --- callbacks ---
    (
        "checkpoints.dense_until negative",
        ["--checkpoints.dense_until", "-1"],
        ["checkpoints.dense_until", ">= 0"],
    ),
    (
        "checkpoints.every_n_steps negative",
        ["--checkpoints.every_n_steps", "-2"],
        ["checkpoints.every_n_steps", ">= 0"],
    ),
    ("phases.patience zero", ["--phases.thresholds.patience", "0"], ["phases.thresholds.patience", ">= 1"]),
    (
        "phases.leave_tolerance >= 1",
        ["--phases.thresholds.leave_tolerance", "1.5"],
        ["phases.thresholds.leave_tolerance", "[0, 1)"],
    ),
    (
        "phases.reach_tolerance negative",
        ["--phases.thresholds.reach_tolerance", "-1"],
        ["phases.thresholds.reach_tolerance", ">= 0"],
    ),
    (
        "phases.knowledge_fraction zero",
        ["--phases.thresholds.knowledge_fraction", "0"],
        ["phases.thresholds.knowledge_fraction", "(0, "],
    ),
    (
        "phases.knowledge_accuracy > 1",
        ["--phases.thresholds.knowledge_accuracy", "2"],
        ["phases.thresholds.knowledge_accuracy", "(0, 1]"],
    ),
    ("nonfinite.action unknown", ["--nonfinite.action", "ignore"], ["nonfinite.action", "stop", "skip"]),
    ("nonfinite.max_skips negative", ["--nonfinite.max_skips", "-1"], ["nonfinite.max_skips", ">= 0"]),
    (
        "nonfinite.check_every_n_steps zero",
        ["--nonfinite.check_every_n_steps", "0"],
        ["nonfinite.check_every_n_steps", ">= 1"],
    ),
    (
        "AttentionStatistics.n_sequences zero",
        [*STATS, "--trainer.callbacks.n_sequences", "0"],
        ["AttentionStatistics.n_sequences", ">= 1"],
    ),
    (
        "AttentionStatistics.every_n_evals zero",
        [*STATS, "--trainer.callbacks.every_n_evals", "0"],
        ["AttentionStatistics.every_n_evals", ">= 1"],
    ),
    (
        "AttentionPatching.start_step negative",
        [
            *PATCH,
            "--trainer.callbacks.reference_checkpoint",
            "x.ckpt",
            "--trainer.callbacks.start_step",
            "-1",
        ],
        ["AttentionPatching.start_step", ">= 0"],
    ),
    (
        "AttentionPatching reference missing",
        [*PATCH, "--trainer.callbacks.reference_checkpoint", "nope.ckpt"],
        ["AttentionPatching", "nope.ckpt", "not found"],
    ),
    (
        "AttentionPatching reference mismatch",
        [*PATCH, "--trainer.callbacks.reference_checkpoint", "{wide}"],
        ["AttentionPatching.reference_checkpoint", "matches the model", "d_model: reference 32 != model 16"],
    ),
    (
        "AttentionPatching layer out of range",
        [*PATCH, "--trainer.callbacks.reference_checkpoint", "{same}", "--trainer.callbacks.layers", "[5]"],
        ["AttentionPatching.layers", "[0, 1]"],
    ),
    (
        "HallucinationExamples.n_individuals zero",
        [*HALL, "--trainer.callbacks.n_individuals", "0"],
        ["HallucinationExamples.n_individuals", ">= 1"],
    ),
    (
        "hallucination_examples.every_n_validations zero",
        ["--hallucination_examples.every_n_validations", "0"],
        ["every_n_validations", ">= 1"],
    ),
    # --- CLI ---
    (
        "unknown data key",
        ["--data.no_such_key", "3"],
        ["no_such_key", "Allowed keys under data", "n_individuals"],
    ),
    ("unknown model key", ["--model.heads", "3"], ["model.heads", "Allowed keys under model", "n_head"]),
    ("max_steps not a number", ["--trainer.max_steps", "abc"], ["trainer.max_steps", "int"]),
    ("ckpt_path missing file", ["--ckpt_path", "missing.ckpt"], ["missing.ckpt", "not found"]),
    ("ckpt_path last with no runs", ["--ckpt_path", "last"], ["ckpt_path", "no valid checkpoint"]),
    ("ckpt_path best for fit", ["--ckpt_path", "best"], ["ckpt_path", "'last' or a checkpoint file"]),
]


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> dict[str, str]:
    """Reference checkpoints for AttentionPatching: one like the tiny model, one twice as wide."""
    from factdyn.data import BiographyDataModule
    from factdyn.model import TransformerConfig
    from factdyn.training.module import FactLearner

    data = BiographyDataModule(n_individuals=64, n_unseen=16, batch_size=8)
    root = tmp_path_factory.mktemp("refs")
    paths = {}
    for key, d_model in (("same", 16), ("wide", 32)):
        config = TransformerConfig(
            vocab_size=data.vocab_size,
            max_seq_len=data.max_seq_len,
            n_layer=2,
            n_head=2,
            d_model=d_model,
            d_mlp=32,
        )
        model = FactLearner(
            config,
            attributes=data.attributes,
            attribute_cardinalities=data.attribute_cardinalities,
            tokenizer_fingerprint=data.tokenizer_fingerprint,
        )
        path = root / f"{key}.ckpt"
        save_checkpoint_file(
            {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams), "global_step": 0},
            path,
        )
        paths[key] = str(path)
    return paths


def leftovers(root: Path) -> list[str]:
    found = [p for p in root.rglob("*") if p.is_file() and (p.suffix == ".ckpt" or "tfevents" in p.name)]
    found += [p for p in root.rglob("version_*") if p.is_dir()]
    found += [p for p in root.rglob("checkpoints") if p.is_dir()]
    return sorted(str(p.relative_to(root)) for p in found)


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_fast_naming_field_and_allowed_values(
    tmp_path: Path, monkeypatch, capsys, references, args: list[str], expected: list[str]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # anything written relative to the current directory lands here
    args = [a.format(**references) for a in args]
    with pytest.raises((SystemExit, ValueError, TypeError, FileNotFoundError)) as err:
        cli_main(tiny_args(work / "logs", *args))
    text = str(err.value) + capsys.readouterr().err
    for part in expected:
        assert part in text, f"{part!r} not in error:\n{text[-2000:]}"
    assert leftovers(work) == []


# Numeric fields with no bad-input case on purpose, and why.
NO_CASE_NEEDED = {
    # Set by the CLI from the data module (link_arguments), not by the user.
    *(
        (
            "TransformerConfig" if target.startswith("model.config.") else "FactLearner",
            target.rpartition(".")[2],
        )
        for target in LINKED_FROM_DATA.values()
    ),
}
# CLI keys that set a field of another section through a link.
LINKS = {"seed_everything": ("BiographyDataModule", "seed")}


def is_numeric(annotation: object) -> bool:
    """Whether a type hint admits an int or float (bool, a subclass of int, is not a number here)."""
    if annotation in (int, float):
        return True
    return any(is_numeric(arg) for arg in typing.get_args(annotation) if arg is not bool)


def numeric_fields(cls: type) -> set[tuple[str, str]]:
    if dataclasses.is_dataclass(cls):
        hints, params = typing.get_type_hints(cls), [f.name for f in dataclasses.fields(cls)]
    else:
        hints, params = typing.get_type_hints(cls.__init__), list(inspect.signature(cls.__init__).parameters)
    return {(cls.__name__, name) for name in params if name in hints and is_numeric(hints[name])}


def fields_with_a_case(sections: dict[str, type]) -> set[tuple[str, str]]:
    """(class name, field) set by some case's arguments: ``--<section>.<field>``, or
    ``--trainer.callbacks.<field>`` after ``--trainer.callbacks+=<path>.<Class>``."""
    found = set()
    for _, args, _ in CASES:
        added = None
        for arg in args:
            key = arg[2:] if arg.startswith("--") else None
            if key is None:
                continue
            if key.startswith("trainer.callbacks+="):
                added = key.rpartition(".")[2]
            elif key.startswith("trainer.callbacks.") and added is not None:
                found.add((added, key.rpartition(".")[2]))
            elif key in LINKS:
                found.add(LINKS[key])
            else:
                # The longest section that prefixes the key: ``model.config.n_layer`` is TransformerConfig's.
                section = max((s for s in sections if key.startswith(f"{s}.")), key=len, default=None)
                if section is not None:
                    found.add((sections[section].__name__, key[len(section) + 1 :].partition(".")[0]))
    return found


def test_every_numeric_field_has_a_bad_input_case(tmp_path: Path) -> None:
    """A new int/float argument of the data module, the model or an always-on callback needs a case here."""
    cli = cli_main(tiny_args(tmp_path / "logs")[1:], run=False)
    sections = {"data": type(cli.datamodule), "model": type(cli.model), "model.config": TransformerConfig}
    # The always-on callbacks, as Lightning itself finds them; Lightning's own (last_checkpoint) checks its
    # arguments itself.
    for key in cli.parser.callback_keys:
        cls = type(cli.config_init[key])
        if cls.__module__.startswith("factdyn."):
            sections[key] = cls
    assert {"data", "model", "checkpoints", "phases", "nonfinite"} <= set(sections), sorted(sections)
    required = set().union(*(numeric_fields(cls) for cls in sections.values())) - NO_CASE_NEEDED
    assert ("BiographyDataModule", "n_individuals") in required  # the introspection finds fields at all
    missing = sorted(required - fields_with_a_case(sections))
    assert not missing, f"numeric fields with no case in CASES: {missing}"
    assert len(CASES) >= 40
