"""Bad inputs: each is one line on stderr naming the field and the allowed values, before anything runs.

The table is :mod:`tests.helpers.bad_input_cases` (data, sampler, model, trainer, callbacks, paths, config
files, YAML, the CLI and its toy / sweep / report subcommands). Each case runs ``factdyn ...`` through
``factdyn.cli.main`` in-process from an empty current directory and must be ``one-line``
(:mod:`tests.helpers.bad_inputs`): a non-zero exit, no traceback, exactly one error line holding the
expected parts, and no file, run directory, checkpoint or event file left anywhere. Two cases run as real
processes: exit status 2 and one line on stderr, and the traceback with ``FACTDYN_DEBUG=1``.
``benchmarks/bad_inputs.py`` counts the kinds for this code or an older commit.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import subprocess
import sys
import typing
from collections import Counter
from pathlib import Path

import pytest

from factdyn.callbacks.setup_checks import logged_metrics
from factdyn.checks import ConfigError, UserError
from factdyn.cli import LINKED_FROM_DATA, cli_main
from factdyn.cli_parser import one_line_message, repeated_key
from factdyn.errors import OneLineArgumentParser, one_line, user_error
from factdyn.model import TransformerConfig
from tests.helpers.bad_inputs import CASES, FIT, Case, prepare_files, run_case
from tests.helpers.runs import REPO, TINY, tiny_args


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    return prepare_files(tmp_path_factory.mktemp("bad_input_files"))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}: {c.name}" for c in CASES])
def test_bad_input_is_one_line_naming_field_and_allowed_values(
    tmp_path: Path, capfd, files: dict[str, str], case: Case
) -> None:
    capfd.readouterr()
    outcome = run_case(case, tmp_path / "work", files, lambda: capfd.readouterr().err, time_limit_s=120)
    assert outcome.kind == "one-line", (
        f"{outcome.kind} (exit {outcome.code}), expected {case.expected}, left {outcome.left}:\n"
        f"{outcome.message}"
    )


def test_the_table_covers_every_category() -> None:
    categories = Counter(c.category for c in CASES)
    assert set(categories) >= {"data", "sampler", "model", "trainer", "callbacks", "paths", "files", "yaml"}
    assert set(categories) >= {"cli", "toy", "sweep", "report"}
    assert len(CASES) > 100
    assert len({c.name for c in CASES}) == len(CASES)


# --- real processes ------------------------------------------------------------------------------------
def factdyn_process(tmp_path: Path, *extra: str, debug: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FACTDYN_DEBUG", None)
    if debug:
        env["FACTDYN_DEBUG"] = "1"
    command = [sys.executable, "-m", "factdyn.cli", *tiny_args(tmp_path / "logs", *extra)]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_a_process_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    done = factdyn_process(tmp_path, "--trainer.val_check_interval", "0")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "factdyn: error: trainer.val_check_interval: an integer >= 1 (validate every n training steps) or a "
        "duration 'DD:HH:MM:SS' (the stream has no epochs to take a fraction of), got 0"
    ]
    assert not any(tmp_path.rglob("*tfevents*")) and not any(tmp_path.rglob("*.ckpt"))


def test_factdyn_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = factdyn_process(tmp_path, "--data.n_individuals", "0", debug=True)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().endswith("ConfigError: data.n_individuals: an integer >= 1, got 0")


# --- the pieces -----------------------------------------------------------------------------------------
def test_user_errors_and_bugs() -> None:
    config = ConfigError("data.n_individuals", "an integer >= 1", 0)
    assert user_error(config) is config and isinstance(config, UserError)
    assert one_line(config) == "data.n_individuals: an integer >= 1, got 0"
    missing = FileNotFoundError(2, "No such file or directory", "x.yaml")
    assert one_line(missing) == "FileNotFoundError: [Errno 2] No such file or directory: 'x.yaml'"
    # Raised from a user error (a hook wrapping it): the user error is reported.
    try:
        try:
            raise config
        except ConfigError as inner:
            raise RuntimeError("hook failed") from inner
    except RuntimeError as wrapped:
        assert user_error(wrapped) is config
    # A library's error raised while handling ours (jsonargparse's "does not validate against any of the
    # Union subtypes" around a sampler's ConfigError): ours is reported.
    try:
        try:
            raise config
        except ConfigError:
            raise ValueError("Does not validate against any of the Union subtypes") from None
    except ValueError as suppressed:
        assert user_error(suppressed) is suppressed  # ``from None``: the context is not ours to look at
    try:
        try:
            raise config
        except ConfigError:
            raise ValueError("Does not validate against any of the Union subtypes")  # noqa: B904
    except ValueError as wrapping:
        assert user_error(wrapping) is config
    assert user_error(RuntimeError("a bug")) is None and user_error(KeyError("k")) is None
    assert one_line(UserError("two\n  lines")) == "two lines"


def test_argparse_programs_print_one_line(capsys) -> None:
    parser = OneLineArgumentParser(prog="factdyn sweep")
    parser.add_argument("--parallel", type=int)
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--parallel", "two"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("factdyn sweep: error: argument --parallel: invalid int")
    assert isinstance(parser, argparse.ArgumentParser)


def test_repeated_yaml_keys_are_found() -> None:
    assert repeated_key("a: 1\nb:\n  c: 2\n  c: 3\n") == "'c' (line 4)"
    assert repeated_key("a: {x: 1, x: 2}") == "'x' (line 1)"
    assert repeated_key("a: &base {x: 1}\nb:\n  <<: *base\n  y: 2\n") is None
    assert repeated_key("- {a: 1}\n- {a: 2}\n") is None


def test_jsonargparse_messages_become_one_line() -> None:
    assert (
        one_line_message("Parser key \"data.n_individuals\":\n  Expected a <class 'int'>. Got value: abc")
        == "data.n_individuals: an integer, got 'abc'"
    )
    assert one_line_message("unrecognized arguments: --x 3\nAllowed keys under the top level: a, b") == (
        "unrecognized arguments: --x 3; Allowed keys under the top level: a, b"
    )
    union = (
        'Parser key "data.pin_memory":\n  Does not validate against any of the Union subtypes\n'
        "  Subtypes: [<class 'bool'>, <class 'NoneType'>]\n  Errors:\n  Given value type: <class 'str'>\n"
        "  Given value: sometimes"
    )
    assert one_line_message(union) == "data.pin_memory: true or false or null, got 'sometimes'"
    literal = (
        'Parser key "model.config.attention":\n'
        "  Expected a typing.Literal['fused', 'explicit']. Got value: x"
    )
    assert one_line_message(literal) == "model.config.attention: one of 'fused', 'explicit', got 'x'"


def test_metric_names_are_what_a_run_logs(run_tiny) -> None:
    """The names monitors are checked against (module + callbacks) are the metrics a run logs."""
    cli, _ = run_tiny("--data.sampler", "Zipf", "--data.sampler.n_buckets", "2")
    callbacks = cli.trainer.callbacks
    expected = logged_metrics(cli.datamodule, cli.model, callbacks)
    assert {"val/attr_loss/bucket_1", "exposures/mean", "unseen/hallucination_gap"} <= expected
    assert set(cli.trainer.callback_metrics) - {"step"} == expected


# --- every numeric field has a case -------------------------------------------------------------------
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
    """(class name, field) set by some ``fit`` case's arguments: ``--<section>.<field>``, or
    ``--trainer.callbacks.<field>`` after ``--trainer.callbacks+=<path>.<Class>``."""
    found = set()
    for case in CASES:
        if case.words[: len(FIT)] != FIT:
            continue
        added = None
        for arg in case.words[len(FIT) :]:
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
    assert not missing, f"numeric fields with no case in the table: {missing}"
    assert TINY.is_file()
