"""Generated blocks in hand-written Markdown: ``<!-- factdyn:NAME -->`` ... ``<!-- /factdyn:NAME -->``.

What lies between the two markers is written by :mod:`factdyn.analysis.evidence` from the results archive
and replaced on every regeneration; everything outside them is prose and is never touched. A block may be a
whole table (markers on lines of their own) or a few words inside a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_BLOCK = re.compile(
    r"<!-- factdyn:(?P<name>[A-Za-z0-9_.-]+) -->(?P<body>.*?)<!-- /factdyn:(?P=name) -->", re.S
)
_OPEN = re.compile(r"<!-- factdyn:([A-Za-z0-9_.-]+) -->")


def block_names(text: str) -> list[str]:
    """The names of the generated blocks in ``text``, in order; an opening marker without its closing
    marker is an error (it would swallow or lose prose)."""
    names = [m.group("name") for m in _BLOCK.finditer(text)]
    opened = _OPEN.findall(text)
    if opened != names:
        unclosed = [n for n in opened if opened.count(n) != names.count(n)]
        raise ValueError(f"generated block(s) {sorted(set(unclosed))} have no closing <!-- /factdyn:NAME -->")
    return names


def fill_blocks(text: str, render: Callable[[str], str]) -> str:
    """``text`` with every block's body replaced by ``render(name)``. A multi-line body is written on lines
    of its own between the markers; a one-line body stays inline."""
    block_names(text)

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        body = render(name).strip("\n")
        inner = f"\n{body}\n" if "\n" in body or "\n" in match.group("body") else body
        return f"<!-- factdyn:{name} -->{inner}<!-- /factdyn:{name} -->"

    return _BLOCK.sub(replace, text)
