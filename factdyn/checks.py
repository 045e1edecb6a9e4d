"""Checks of user-given values, run before any training starts: each error names the config field."""

from __future__ import annotations

from typing import Any


def require_int(field: str, value: Any, low: int, *, allow_none: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer ``>= low`` (a bool is not; ``None`` if allowed)."""
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        null = " or null" if allow_none else ""
        raise ValueError(f"{field} must be an integer >= {low}{null}, got {value!r}")
