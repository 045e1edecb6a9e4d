"""Every check of a user-given value: one exception type, one message shape, run before anything trains.

Each failure is a :class:`ConfigError` (a :class:`UserError`, a ``ValueError``) whose message is one line
naming the config field, what it allows and what it got::

    data.n_individuals: an integer >= 1, got 0
    model.config.attention: one of 'fused', 'explicit', got 'flash'

The ``factdyn`` command prints a :class:`UserError` as that one line, with no traceback
(:mod:`factdyn.errors`). No torch, no Lightning: data, model, callbacks and the CLI all check through here.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Collection, Iterable
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any


class UserError(ValueError):
    """Something the person running factdyn can correct: a value, a name, a file.

    Raise it (or its :class:`ConfigError`, for a config field) with a message that says what is wrong and
    where (the field, or the file first); ``factdyn`` prints the message as one line and exits with 2.
    """


class ConfigError(UserError):
    """A user-given value that is not allowed; the message is ``<field>: <allowed>, got <value>``."""

    def __init__(self, field: str, allowed: str, value: Any) -> None:
        super().__init__(f"{field}: {allowed}, got {value!r}")
        self.field = field
        self.allowed = allowed
        self.value = value


def require(condition: bool, field: str, allowed: str, value: Any) -> None:
    """Raise :class:`ConfigError` unless ``condition`` holds (for checks no helper below expresses)."""
    if not condition:
        raise ConfigError(field, allowed, value)


def _range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def _in_range(value: float, low: float | None, high: float | None, low_open: bool, high_open: bool) -> bool:
    if low is not None and (value < low or (low_open and value == low)):
        return False
    return high is None or not (value > high or (high_open and value == high))


def require_int(
    field: str,
    value: Any,
    low: int | None = None,
    high: int | None = None,
    *,
    allow_none: bool = False,
) -> None:
    """An integer in ``[low, high]`` (either end may be open-ended); a bool is not an integer."""
    if allow_none and value is None:
        return
    allowed = " ".join(filter(None, ("an integer", _range(low, high, False, False))))
    allowed += " or null" if allow_none else ""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    require(is_int and _in_range(value, low, high, False, False), field, allowed, value)


def require_number(
    field: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> None:
    """A finite number in the range, ``(`` / ``)`` where ``low_open`` / ``high_open``; a bool is not one."""
    if allow_none and value is None:
        return
    allowed = " ".join(filter(None, ("a number", _range(low, high, low_open, high_open))))
    allowed += " or null" if allow_none else ""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    require(is_number and _in_range(value, low, high, low_open, high_open), field, allowed, value)


def require_choice(field: str, value: Any, choices: Iterable[Any]) -> None:
    """One of ``choices``."""
    choices = list(choices)
    require(value in choices, field, f"one of {', '.join(map(repr, choices))}", value)


def require_bool(field: str, value: Any, *, allow_none: bool = False) -> None:
    """``true`` or ``false`` (or ``null`` if allowed)."""
    if allow_none and value is None:
        return
    require(isinstance(value, bool), field, "true or false" + (" or null" if allow_none else ""), value)


def require_at_most_n(field: str, value: int, n: int) -> None:
    """A subset size that must fit in the ``n`` training individuals."""
    require(value <= n, field, f"at most the {n} training individuals", value)


def require_relative_path(field: str, value: Any, inside: str, *, allow_empty: bool = False) -> None:
    """A relative path that stays inside ``inside`` (the run directory, the logger's save_dir): not absolute,
    no ``..`` part, so that nothing is written outside it (``allow_empty``: ``""`` and ``null`` too)."""
    if allow_empty and value in (None, ""):
        return
    text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else ""
    require(
        text != ""
        and not PurePosixPath(text).is_absolute()
        and not PureWindowsPath(text).is_absolute()
        and ".." not in PurePosixPath(text.replace("\\", "/")).parts,
        field,
        f"a relative path inside {inside} (no '..', not absolute)",
        value,
    )


def require_metric(field: str, name: Any, logged: Collection[str], escape: str = "") -> None:
    """One of the ``logged`` metric names.

    The message lists the top-level ones (``val/attr_loss``, not its breakdowns such as
    ``val/attr_loss/<attribute>``), suggests the closest name and ends with ``escape`` (e.g. the switch that
    turns the check off).
    """
    if isinstance(name, str) and name in logged:
        return
    shown = sorted(m for m in logged if not any(m.startswith(f"{o}/") for o in logged))
    close = difflib.get_close_matches(str(name), list(logged), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(
        field, f"a logged metric{hint}: one of {', '.join(shown)} or their breakdowns{escape}", name
    )


def require_extra(module: str, extra: str, needed_by: str) -> None:
    """A one-line :class:`UserError` when ``module`` cannot be imported: ``<needed_by> needs <module>, which
    is not installed: pip install 'factdyn[<extra>]'`` (the optional dependency group of pyproject.toml)."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or an entry of None in sys.modules
        found = False
    if not found:
        raise UserError(f"{needed_by} needs {module}, which is not installed: pip install 'factdyn[{extra}]'")
