"""Markdown table plumbing shared by the report's sections: a cell's text, a table's lines."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def cell(value: Any, digits: int = 4) -> str:
    """A value as table text: ``–`` for missing or non-finite, floats to ``digits`` significant digits."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table's lines: the heading, the rule, one line per row."""
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]
