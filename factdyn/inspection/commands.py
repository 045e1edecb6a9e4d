"""The ``factdyn predict``, ``factdyn ask`` and ``factdyn export`` programs (plain argparse, no Trainer).

They read a checkpoint (or a run directory's ``last.ckpt``) with its own data settings
(:func:`~factdyn.inspection.loaded_run.load_run`): no config file, no new run version. A user error is one
line on stderr and exit status 2 (:mod:`factdyn.errors`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from factdyn.checks import ConfigError, require_int
from factdyn.data.population import ROLES
from factdyn.data.resources import ATTRIBUTES
from factdyn.errors import OneLineArgumentParser
from factdyn.inspection.answers import Answer
from factdyn.inspection.loaded_run import LoadedRun, load_run
from factdyn.inspection.people import require_attribute
from factdyn.inspection.predictions import INDIVIDUALS_FORMAT, parse_template, predict, select_indices
from factdyn.inspection.prompts import TEMPLATE_POOLS
from factdyn.inspection.transformer_lens_export import export_transformer_lens

NAME_WORDS = 3
"""First, middle and last name: one word each in the shipped lists."""
EXPORT_FORMATS = ("transformer-lens",)


def _checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="a checkpoint file, or a run directory (its last.ckpt)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")


def _template_arguments(parser: argparse.ArgumentParser, all_allowed: bool) -> None:
    parser.add_argument(
        "--templates",
        choices=TEMPLATE_POOLS,
        default="heldout",
        help="the individual's held-out templates (default; never trained on) or its training ones",
    )
    parser.add_argument(
        "--template",
        default="0",
        help="which of them, by number from 0 (default 0)" + (", or 'all'" if all_allowed else ""),
    )


def predict_main(argv: Sequence[str]) -> None:
    """``factdyn predict CKPT [--population train] [--individuals 0:100 | --names ...] ...``."""
    parser = OneLineArgumentParser(
        prog="factdyn predict",
        description="Greedy answers of a checkpoint for chosen individuals and attributes, as JSON lines "
        "(one per individual, attribute and template): prompt, answer, its probability, the truth, correct.",
    )
    _checkpoint_argument(parser)
    parser.add_argument(
        "--population", choices=ROLES, default="train", help="whose individuals (default train)"
    )
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--individuals", default="0:100", help=f"{INDIVIDUALS_FORMAT} (default 0:100)")
    who.add_argument("--names", nargs="+", metavar="NAME", help="full names (quoted), of any population")
    parser.add_argument(
        "--attributes", nargs="+", default=list(ATTRIBUTES), metavar="ATTRIBUTE", help="default: all six"
    )
    _template_arguments(parser, all_allowed=True)
    parser.add_argument(
        "--out",
        type=Path,
        help="the JSON-lines file (default <run>/eval/predictions_<ckpt>_<population>.jsonl)",
    )
    parser.add_argument("--batch-size", type=int, default=256, help="prompts decoded together (default 256)")
    args = parser.parse_args(list(argv))
    require_int("--batch-size", args.batch_size, 1)
    template = parse_template(args.template)
    attributes = [require_attribute(a) for a in args.attributes]
    run = load_run(args.checkpoint, args.device)
    if args.names:
        people = [run.person(name) for name in args.names]
    else:
        if args.population not in run.populations:
            raise ConfigError(
                "--population", f"one of {', '.join(map(repr, run.populations))}", args.population
            )
        size = len(run.populations[args.population])
        people = [run.person(i, args.population) for i in select_indices(args.individuals, size)]
    summary = predict(run, people, attributes, args.templates, template, args.out, args.batch_size)
    print(f"factdyn predict: step {run.step}: {summary.line()}")


def split_name(words: Sequence[str]) -> tuple[str, str | None]:
    """``["Ava Grace Nielsen", "major"]`` or ``["Ava", "Grace", "Nielsen", "major"]`` -> name, attribute."""
    parts = " ".join(words).split()
    if len(parts) not in (NAME_WORDS, NAME_WORDS + 1):
        raise ConfigError(
            "NAME [ATTRIBUTE]",
            f"a full name of {NAME_WORDS} words (first, middle, last), then optionally one of "
            f"{', '.join(ATTRIBUTES)}",
            " ".join(words),
        )
    return " ".join(parts[:NAME_WORDS]), (parts[NAME_WORDS] if len(parts) > NAME_WORDS else None)


def answers_table(run: LoadedRun, answers: Sequence[Answer], number: int, prompts: bool) -> str:
    """What ``factdyn ask`` prints: a heading, then one row per attribute (``✓``: correct)."""
    first = answers[0]
    lines = [
        f"{first.name}: {first.population} individual {first.individual}; checkpoint step {run.step} "
        f"({run.checkpoint}); {first.templates} template {number} of each attribute"
    ]
    rows = [("attribute", "answer (greedy)", "p(answer)", "truth", "p(truth)")]
    rows += [
        (
            a.attribute,
            f"{a.answer}{' ✓' if a.correct else ''}",
            f"{a.p_answer:.3g}",
            a.truth,
            f"{a.p_truth:.3g}",
        )
        for a in answers
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if prompts and k:
            lines.append(f"    prompt: {answers[k - 1].prompt}")
    return "\n".join(lines)


def ask_main(argv: Sequence[str]) -> None:
    """``factdyn ask CKPT "<full name>" [attribute]``."""
    parser = OneLineArgumentParser(
        prog="factdyn ask",
        description="What a checkpoint answers about one individual (any population): its greedy answer, the "
        "answer's probability and the truth, for one attribute or all six.",
    )
    _checkpoint_argument(parser)
    parser.add_argument(
        "words",
        nargs="+",
        metavar="NAME",
        help='the full name, "First Middle Last" (quoted or not), then optionally one attribute',
    )
    _template_arguments(parser, all_allowed=False)
    parser.add_argument("--prompts", action="store_true", help="print each prompt under its answer")
    args = parser.parse_args(list(argv))
    name, attribute = split_name(args.words)
    attributes = [require_attribute(attribute)] if attribute is not None else list(ATTRIBUTES)
    template = parse_template(args.template)
    if template is None:
        raise ConfigError("--template", "a template number (0 is the first of the pool)", args.template)
    run = load_run(args.checkpoint, args.device)
    answers = run.answers(
        [run.prompt(name, a, templates=args.templates, template=template) for a in attributes]
    )
    print(answers_table(run, answers, template, args.prompts))


def export_main(argv: Sequence[str]) -> None:
    """``factdyn export CKPT --to transformer-lens OUT``."""
    parser = OneLineArgumentParser(
        prog="factdyn export",
        description="Write a checkpoint's model for another library: TransformerLens (config.json, "
        "state_dict.pt, model.safetensors when safetensors is installed, vocab.json).",
    )
    parser.add_argument("checkpoint", type=Path, help="a checkpoint file, or a run directory (its last.ckpt)")
    parser.add_argument("--to", required=True, choices=EXPORT_FORMATS, help="the library")
    parser.add_argument("out", type=Path, help="the folder to write")
    args = parser.parse_args(list(argv))
    run = load_run(args.checkpoint, "cpu")
    vocabulary = run.tokenizer.pieces(range(run.tokenizer.vocab_size))
    written = export_transformer_lens(run.model, args.out, vocabulary)
    print(f"factdyn export: step {run.step} -> " + ", ".join(str(p) for p in written))


PROGRAMS = {"predict": predict_main, "ask": ask_main, "export": export_main}
"""The inspection programs by their ``factdyn`` subcommand."""


def main(argv: Sequence[str]) -> None:
    """``factdyn predict|ask|export ...``: ``argv`` starts with the subcommand."""
    PROGRAMS[argv[0]](argv[1:])
