"""The bad-input table: one wrong setting per case, each run through ``factdyn``'s ``main`` and classified.

The cases are the lines of :data:`tests.helpers.bad_input_cases.TABLE`. Used by ``tests/test_bad_inputs.py``
(every case must be ``one-line``) and by ``benchmarks/bad_inputs.py`` (counts per kind, for this code or
another checkout's). A case is a ``factdyn ...`` command line whose ``{placeholders}`` name files made by
:func:`prepare_files` (reference checkpoints, broken config files, sweep files) or ``{logs}``, the logger's
save_dir inside the case's empty working directory. The outcome of a case is one of :data:`KINDS`:

- ``one-line``: exit status != 0, no traceback, exactly one line on stderr besides Lightning's start-up
  notes and Python warnings, holding every expected part (the field or file, and what is allowed), and
  nothing left behind;
- ``vague``: as ``one-line`` but some expected part is missing (a library's raw message);
- ``multi-line``: an error spread over several lines (a usage dump and the message, for instance);
- ``traceback``: a traceback on stderr, or an exception escaping ``main`` (a process would print one);
- ``accepted``: exit status 0, or still running after the time limit (the bad value was taken).

"Left behind" is any file, run directory or ``checkpoints/`` folder in the working directory afterwards.
Importing this module imports no factdyn code: the benchmark chooses which factdyn it measures first.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.bad_input_cases import MACROS, TABLE

REPO = Path(__file__).resolve().parents[2]
KINDS = ("one-line", "vague", "multi-line", "traceback", "accepted")

# Lines that are not errors: Lightning's start-up notes and Python warnings (with their source line).
NOTE_LINES = (
    r"Seed set to \d+",
    r"(GPU|TPU|HPU|IPU|MPS) available: .*",
    r"💡 Tip: .*",
    r"You are using a CUDA device .*",
    r"LOCAL_RANK: .*",
    r"\S+\.py:\d+: .*",
    r"  warnings\.warn\(.*",
)


@dataclass(frozen=True)
class Case:
    """One bad input: the command line and the parts its error must contain (the field, the allowed)."""

    name: str
    category: str
    words: tuple[str, ...]
    expected: tuple[str, ...]


FIT = ("fit", "--config", "{tiny}", "--trainer.logger.init_args.save_dir", "{logs}")
TOY = ("--trainer.max_steps", "50", "--trainer.logger.init_args.save_dir", "{logs}")
COMMANDS = {
    "toy:": ("toy", "fit", "--config", "{toy_pretrain}", *TOY),
    "toy-finetune:": ("toy", "fit", "--config", "{toy_finetune}", *TOY),
    "factdyn:": (),
}


def parse_table(table: str) -> list[Case]:
    """The cases of a table (see :mod:`tests.helpers.bad_input_cases`)."""
    cases = []
    for line in table.splitlines():
        if not line.strip():
            continue
        category, name, arguments, expected = (part.strip() for part in line.split(" | "))
        first, _, others = arguments.partition(" ")
        prefix = COMMANDS.get(first)
        words = shlex.split(others if prefix is not None else arguments)
        words = [
            w for word in words for w in (shlex.split(MACROS[word[1:]]) if word.startswith("$") else [word])
        ]
        cases.append(
            Case(name, category, (*(FIT if prefix is None else prefix), *words), tuple(expected.split(" ; ")))
        )
    return cases


CASES = parse_table(TABLE)


# --- the files the cases name -------------------------------------------------------------------------
CONFIG_FILES: dict[str, bytes] = {
    "dup.yaml": b"data:\n  n_individuals: 32\n  n_individuals: 16\n",
    "dup_nested.yaml": b"model:\n  config:\n    n_head: 2\n    d_model: 16\n    n_head: 4\n",
    "dup_section.yaml": b"model:\n  lr: 0.001\ndata:\n  batch_size: 8\nmodel:\n  lr: 0.01\n",
    "latin1.yaml": "# café\ndata:\n  n_individuals: 32\n".encode("latin-1"),
    "binary.yaml": bytes(range(128, 256)) * 4,
    "unknown_key.yaml": b"data:\n  n_individualz: 32\n",
    "wrong_type.yaml": b"data:\n  batch_size: eight\n",
    "list.yaml": b"- data\n- model\n",
    "unknown_section.yaml": b"datas:\n  batch_size: 8\n",
    "syntax.yaml": b"data:\n  batch_size: [8\n  n_unseen: 4\n",
    "tab.yaml": b"data:\n\tbatch_size: 8\n",
}


def sweep_text(**fields: str) -> str:
    base = {"name": "bad", "configs": "[{tiny}]", "grid": "{data.batch_size: [8]}", "save_dir": "{logs}"}
    return "".join(f"{k}: {v}\n" for k, v in {**base, **fields}.items())


SWEEP_FILES: dict[str, str] = {
    "sweep_ok.yaml": sweep_text(),
    "sweep_unknown_key.yaml": sweep_text(gird="{data.batch_size: [8]}"),
    "sweep_bad_name.yaml": sweep_text(name="'two words'"),
    "sweep_missing_config.yaml": sweep_text(configs="[nope.yaml]"),
    "sweep_list.yaml": "- name\n- configs\n",
    "sweep_bad_seeds.yaml": sweep_text(seeds="[zero]"),
    "sweep_bad_command.yaml": sweep_text(command="train"),
}


def prepare_files(root: Path) -> dict[str, str]:
    """Write what the cases refer to under ``root``; returns the placeholders (``{logs}`` comes per case).

    ``same`` / ``wide``: checkpoints of a model like the tiny preset's and of one twice as wide, made with
    the factdyn being measured, with the tiny preset's population recorded as ``fit`` records it;
    ``refs``: their folder (a "run directory" without scheduled checkpoints).
    """
    from factdyn.data import BiographyDataModule
    from factdyn.model import TransformerConfig
    from factdyn.training.checkpoint_files import save_checkpoint_file
    from factdyn.training.module import FactLearner

    root.mkdir(parents=True, exist_ok=True)
    files = {
        "tiny": str(REPO / "configs" / "presets" / "tiny.yaml"),
        "toy_pretrain": str(REPO / "configs" / "toy" / "pretrain.yaml"),
        "toy_finetune": str(REPO / "configs" / "toy" / "finetune.yaml"),
    }
    refs = root / "refs"
    refs.mkdir(exist_ok=True)
    files["refs"] = str(refs)
    data = BiographyDataModule(n_individuals=64, n_unseen=16, batch_size=8)
    for key, d_model in (("same", 16), ("wide", 32)):
        config = TransformerConfig(
            vocab_size=data.vocab_size, max_seq_len=data.max_seq_len, n_layer=2, n_head=2, d_model=d_model,
            d_mlp=32,
        )  # fmt: skip
        model = FactLearner(
            config,
            attributes=data.attributes,
            attribute_cardinalities=data.attribute_cardinalities,
            tokenizer_fingerprint=data.tokenizer_fingerprint,
        )
        path = refs / f"{key}.ckpt"
        save_checkpoint_file(
            {
                "state_dict": model.state_dict(),
                "hyper_parameters": dict(model.hparams),
                "datamodule_hyper_parameters": dict(data.hparams),
                "global_step": 0,
            },
            path,
        )
        files[key] = str(path)
    for name, content in CONFIG_FILES.items():
        (root / name).write_bytes(content)
        files[name.replace(".", "_")] = str(root / name)
    config_dir = root / "config_dir"
    config_dir.mkdir(exist_ok=True)
    files["config_dir"] = str(config_dir)
    empty = root / "empty_dir"
    empty.mkdir(exist_ok=True)
    files["empty_dir"] = str(empty)
    return files


def fill(text: str, placeholders: dict[str, str]) -> str:
    """``text`` with each ``{name}`` of ``placeholders`` replaced (other braces, YAML's, stay)."""
    return re.sub(r"\{(\w+)\}", lambda m: placeholders.get(m.group(1), m.group(0)), text)


def write_sweep_files(work: Path, files: dict[str, str]) -> dict[str, str]:
    """The sweep files, written into ``work`` (their ``save_dir`` is the case's ``{logs}``)."""
    found = {}
    for name, text in SWEEP_FILES.items():
        path = work / name
        path.write_text(fill(text, files))
        found[name.removesuffix(".yaml")] = str(path)
    return found


# --- running a case -----------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What a case did: its kind (:data:`KINDS`), exit status, error text, whether that text holds every
    expected part (``named``, whatever the kind: a traceback may end with the right message) and what the
    case left behind."""

    kind: str
    code: int | None
    message: str
    named: bool = False
    left: list[str] = field(default_factory=list)


class CaseTimeout(BaseException):
    """Raised in the case by the alarm: the bad value was taken and training went on."""


def left_behind(work: Path, before: set[Path]) -> list[str]:
    """Files, run directories and ``checkpoints/`` folders in ``work`` that were not there before."""
    found = [p for p in work.rglob("*") if p not in before and (p.is_file() or p.name == "checkpoints")]
    found += [p for p in work.rglob("version_*") if p.is_dir() and p not in before]
    return sorted({str(p.relative_to(work)) for p in found})


def error_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are not start-up notes or warnings."""
    return [
        line
        for line in stderr.splitlines()
        if line.strip() and not any(re.fullmatch(p, line) for p in NOTE_LINES)
    ]


def classify(
    case: Case, code: int | None, escaped: BaseException | None, stderr: str, left: list[str]
) -> Outcome:
    """The kind of a finished case (see the module docstring)."""
    if isinstance(escaped, CaseTimeout):
        return Outcome("accepted", None, "still running at the time limit", False, left)
    if escaped is not None or "Traceback (most recent call last)" in stderr:
        text = (
            f"{type(escaped).__name__}: {escaped}" if escaped is not None else stderr.strip().splitlines()[-1]
        )
        named = all(part in text for part in case.expected)
        return Outcome("traceback", code, " ".join(text.split()), named, left)
    if code == 0:
        return Outcome("accepted", 0, "", False, left)
    lines = error_lines(stderr)
    named = all(part in " ".join(lines) for part in case.expected)
    if len(lines) != 1:
        return Outcome("multi-line", code, " | ".join(lines), named, left)
    return Outcome("one-line" if named and not left else "vague", code, lines[0], named, left)


@contextlib.contextmanager
def stderr_to_file() -> Iterator[Callable[[], str]]:
    """Send file descriptor 2 (and so ``sys.stderr``) to a temporary file; yields a reader of what it got
    (valid inside the ``with`` block)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)

        def read() -> str:
            sys.stderr.flush()
            tmp.seek(0)
            return tmp.read().decode("utf-8", "replace")

        try:
            yield read
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def run_case(
    case: Case,
    work: Path,
    files: dict[str, str],
    read_stderr: Callable[[], str],
    time_limit_s: int = 300,
) -> Outcome:
    """Run ``factdyn <case.words>`` through ``factdyn.cli.main`` in ``work`` (the current directory then)
    and classify it; ``read_stderr`` returns what the case printed on stderr."""
    from factdyn.cli import main

    work.mkdir(parents=True, exist_ok=True)
    placeholders = {**files, "logs": str(work / "logs"), "work": str(work)}
    placeholders.update(write_sweep_files(work, placeholders))
    words = [fill(w, placeholders) for w in case.words]
    before = set(work.rglob("*"))
    code: int | None = 0
    escaped: BaseException | None = None

    def alarm(signum: int, frame: object) -> None:
        raise CaseTimeout()

    cwd, argv = os.getcwd(), sys.argv
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(time_limit_s)
    try:
        os.chdir(work)
        sys.argv = ["factdyn"]  # as a process started with these words would have (LightningCLI reads it)
        main(words)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if isinstance(exit_.code, str):
            sys.stderr.write(exit_.code + "\n")  # as the interpreter prints it when the process ends
    except BaseException as error:  # noqa: BLE001 - every escape is an outcome here
        escaped = error
        code = None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(cwd)
        sys.argv = argv
    return classify(case, code, escaped, read_stderr(), left_behind(work, before))
