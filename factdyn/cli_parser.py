"""The ``factdyn`` argument parser: jsonargparse's, with errors in one line that name the field or the file.

- A usage error is one line, ``factdyn: error: <field>: <what is expected>, got <value>``, with the allowed
  values where the parser knows them (the sampler names, the keys of a section), instead of jsonargparse's
  usage dump; ``FACTDYN_DEBUG=1`` brings the full jsonargparse report back.
- A config file is read as UTF-8 and an error in it starts with the file's path.
- YAML mappings (in files and in values given on the command line) may not repeat a key: a repeated key is
  an error naming the key and its line, not a silent "the last one wins".
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import get_loader, set_loader
from jsonargparse._common import debug_mode_active
from lightning.pytorch.cli import LightningArgumentParser

from factdyn.data import IndividualSampler
from factdyn.errors import EXIT_USER_ERROR, debugging, print_error


def sampler_names() -> list[str]:
    """Names accepted by ``--data.sampler`` (every imported ``IndividualSampler`` subclass)."""
    found, todo = set(), [IndividualSampler]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            found.add(sub.__name__)
            todo.append(sub)
    return sorted(found)


# --- YAML: no repeated keys ---------------------------------------------------------------------------
def repeated_key(text: str) -> str | None:
    """``"<key>' (line <n>)"`` for the first key a YAML mapping in ``text`` repeats, else ``None``."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    todo = list(yaml.compose_all(text, Loader=loader))
    seen: set[int] = set()
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    if key.value in keys:
                        return f"{key.value!r} (line {key.start_mark.line + 1})"
                    keys.add(key.value)
                todo += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            todo += node.value
    return None


_jsonargparse_yaml_load = get_loader("yaml")


def yaml_load_unique_keys(stream: str) -> Any:
    """jsonargparse's YAML loader, refusing a mapping that repeats a key."""
    if isinstance(stream, str) and ":" in stream:
        repeated = repeated_key(stream)
        if repeated is not None:
            raise yaml.YAMLError(f"a YAML mapping repeats the key {repeated}; keep one")
    return _jsonargparse_yaml_load(stream)


set_loader("yaml", yaml_load_unique_keys, (yaml.YAMLError,))


# --- one-line errors ----------------------------------------------------------------------------------
TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "str": "a string",
    "NoneType": "null",
    "dict": "a mapping",
    "list": "a list",
}

_reading: ContextVar[str | None] = ContextVar("factdyn_config_file", default=None)
_files_read: ContextVar[list[str] | None] = ContextVar("factdyn_config_files", default=None)


def _top_level_items(text: str) -> list[str]:
    """``a, b[c, d], e`` -> ``["a", "b[c, d]", "e"]`` (commas inside brackets or quotes stay)."""
    items, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        current += char
    return [*items, current.strip()] if current.strip() else items


def describe_type(text: str) -> str:
    """A type as jsonargparse prints it, in words: ``<class 'int'>`` -> ``an integer``,
    ``typing.Literal['a', 'b']`` -> ``one of 'a', 'b'``, ``<class 'x.Callback'>`` -> ``a Callback``."""
    text = text.strip()
    builtin = re.fullmatch(r"<class '(\w+)'>", text)
    if builtin:
        return TYPE_WORDS.get(builtin.group(1), f"a {builtin.group(1)}")
    named = re.fullmatch(r"<class '[\w.]+\.(\w+)'>|(?:[\w]+\.)+(\w+)", text)
    if named:
        return f"a {named.group(1) or named.group(2)} class path"
    literal = re.fullmatch(r"typing\.Literal\[(.*)\]", text)
    if literal:
        return f"one of {literal.group(1)}"
    listed = re.fullmatch(r"list\[(.*)\]", text)
    if listed:
        inner = describe_type(listed.group(1))
        return f"a list of {inner[2:]}s" if inner.startswith("a ") else f"a list of {inner}"
    return text


def init_arguments(class_path: str) -> list[str]:
    """The ``__init__`` arguments of the class at ``class_path`` ([] if it cannot be imported)."""
    module, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
        return [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "args", "kwargs")]
    except (ImportError, AttributeError, TypeError, ValueError):
        return []


def one_line_message(message: str) -> str:
    """jsonargparse's (multi-line) message as one line, shaped ``<field>: <expected>, got <value>``."""
    message = message.replace("Problems parsing config: ", "")
    match = re.match(r'\s*(?:(\S+): )?Parser key "([^"]+)":\s*(.*)', message, re.S)
    if match is None:
        return "; ".join(line.strip() for line in message.splitlines() if line.strip())
    path, key, body = match.groups()
    where = f"{path}: " if path else ""
    allowed = re.search(rf"Allowed values for {re.escape(key)}: (.*)", body)
    subtypes = re.search(r"Subtypes: \[(.*)\]\s*$", body, re.M)
    single = re.search(r"Expected an? (.*?)\. Got value:", body)
    got = re.findall(r"(?:Given value|Got value): (.*)", body)
    unknown_class = re.search(r"Expected a path but (\S+) either not accessible or invalid", body)
    foreign = re.search(r"Problem with given class_path '([\w.]+)':\s*Option '(\w+)' is not accepted", body)
    if foreign:
        cls, name = foreign.group(1).rpartition(".")[2], foreign.group(2)
        known = ", ".join(init_arguments(foreign.group(1)))
        return f"{where}{key}.{name}: {cls} takes no {name!r} (its arguments: {known or 'none'})"
    if allowed:
        expected = f"one of {allowed.group(1).strip()}"
    elif subtypes:
        types = _top_level_items(subtypes.group(1))
        literals = [i for t in types if t.startswith("typing.Literal[") for i in _top_level_items(t[15:-1])]
        words = [describe_type(t) for t in types if not t.startswith("typing.Literal[")]
        expected = " or ".join(dict.fromkeys(([f"one of {', '.join(literals)}"] if literals else []) + words))
    elif single:
        expected = (
            describe_type(single.group(1)) if single.group(1).startswith(("<", "typing")) else single.group(1)
        )
        expected = expected if expected.startswith(("a", "one of", "true")) else f"a {expected}"
    else:
        lines = [line.strip(" -") for line in body.splitlines() if line.strip(" -")]
        return f"{where}{key}: " + "; ".join(lines)
    note = f" ({unknown_class.group(1)} is not an importable class)" if unknown_class else ""
    value = f", got {got[-1].strip()!r}" if got else ""
    return f"{where}{key}: {expected}{note}{value}"


def file_setting(key: str, value: str | None = None) -> str | None:
    """The config file read in this parse (the last one, as the last wins) that sets ``key`` (to ``value``,
    when given), or ``None``: an error found after the files are merged names its file this way."""
    for path in reversed(_files_read.get() or []):
        try:
            node: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            continue
        for part in key.split("."):
            node = node.get(part, KeyError) if isinstance(node, dict) else KeyError
        if node is not KeyError and (value is None or str(node) == value):
            return path
    return None


class FactdynArgumentParser(LightningArgumentParser):
    """Errors in one line naming the field (or the config file) and the allowed values, YAML without
    repeated keys, UTF-8 config files."""

    def parse_args(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        token = _files_read.set([]) if _files_read.get() is None else None
        try:
            return super().parse_args(*args, **kwargs)
        finally:
            if token is not None:
                _files_read.reset(token)

    def parse_path(self, path: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        read = _files_read.get()
        if read is not None:
            read.append(str(path))
        token = _reading.set(str(path))
        try:
            return super().parse_path(path, *args, **kwargs)
        except UnicodeDecodeError as err:
            self.error(f"not UTF-8 text (byte {err.start}: {err.reason}); save it as UTF-8", err)
        finally:
            _reading.reset(token)

    def error(self, message: str, ex: Exception | None = None):  # type: ignore[override]
        if "sampler" in message and "Allowed values for data.sampler" not in message:
            message += (
                f"\nAllowed values for data.sampler: {', '.join(sampler_names())} (or a full import path)"
            )
        message += self._allowed_keys(message)
        path = _reading.get() or self._file_of(message)
        if path is not None and path not in message:
            message = f"{path}: {message}"
        if not self.exit_on_error or debugging() or debug_mode_active():
            return super().error(message, ex)
        self._logger.error(message)
        print_error(one_line_message(message))
        self.exit(EXIT_USER_ERROR)

    @staticmethod
    def _file_of(message: str) -> str | None:
        """The config file that set the key an error (found after merging) is about."""
        unknown = re.search(r"does not accept option '([\w.]+)'", message)
        if unknown:
            return file_setting(unknown.group(1))
        typed = re.match(r'\s*Parser key "([^"]+)":.*Got value: (.*)', message, re.S)
        return file_setting(typed.group(1), typed.group(2).strip()) if typed else None

    def _allowed_keys(self, message: str) -> str:
        """For an unknown option ``--section.key``, the keys that ``section`` accepts (and the closest)."""
        match = re.search(
            r"(?:unrecognized arguments|no action for key|does not accept option)\W+(?:--)?([\w.]+)",
            message,
            re.I,
        )
        if match is None or "Allowed keys under" in message:
            return ""
        section, _, name = match.group(1).rpartition(".")
        dests = [
            a.dest
            for a in self._actions
            if a.dest and a.dest not in ("help", "config") and not a.dest.endswith((".help", ".config"))
        ]
        if section:
            keys = sorted({d[len(section) + 1 :] for d in dests if d.startswith(f"{section}.")})
        else:
            keys = sorted({d.split(".")[0] for d in dests})
        if not keys:
            return ""
        close = difflib.get_close_matches(name, [k.rpartition(".")[2] for k in keys], n=1)
        hint = next((f" (did you mean {k}?)" for k in keys if close and k.rpartition(".")[2] == close[0]), "")
        return f"\nAllowed keys under {section or 'the top level'}{hint}: {', '.join(keys)}"
