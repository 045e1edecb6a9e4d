#!/usr/bin/env python
"""Check the plain-text resources under factdyn/data/resources/ against the
dataset rules (counts, uniqueness, ASCII, name shape, prefix-freeness,
template placeholders). Exits non-zero with a list of problems on failure.

Usage: python tools/check_resources.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "factdyn" / "data" / "resources"
TOKEN_RE = re.compile(r"[A-Za-z0-9]+|[^A-Za-z0-9\s]")
NAME_RE = re.compile(r"[A-Z][a-z]+")

COUNTS = {
    "first_names.txt": 900,
    "last_names.txt": 1000,
    "cities.txt": 800,
    "universities.txt": 200,
    "majors.txt": 100,
    "companies.txt": 500,
}
PREFIX_FREE = ["cities.txt", "universities.txt", "majors.txt", "companies.txt"]
NO_COMMA = ["universities.txt", "companies.txt"]
NAME_FILES = ["first_names.txt", "last_names.txt"]
ATTRIBUTES = ["birth_date", "birth_place", "university", "major", "company", "current_location"]
N_TEMPLATES = 25

errors: list[str] = []


def err(msg: str) -> None:
    errors.append(msg)


def read_lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        err(f"{path.name}: not UTF-8 ({e})")
        text = raw.decode("utf-8", "replace")
    if not text.endswith("\n"):
        err(f"{path.name}: missing trailing newline")
    if "\r" in text:
        err(f"{path.name}: contains carriage returns")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    for i, line in enumerate(lines, 1):
        if line == "":
            err(f"{path.name}:{i}: blank line")
        elif line != line.strip():
            err(f"{path.name}:{i}: leading/trailing whitespace: {line!r}")
        if "  " in line or "\t" in line:
            err(f"{path.name}:{i}: double space or tab: {line!r}")
        if not line.isascii():
            err(f"{path.name}:{i}: non-ASCII: {line!r}")
    seen: dict[str, int] = {}
    for i, line in enumerate(lines, 1):
        if line in seen:
            err(f"{path.name}:{i}: duplicate of line {seen[line]}: {line!r}")
        seen.setdefault(line, i)
    return lines


def tokens(s: str) -> tuple[str, ...]:
    return tuple(TOKEN_RE.findall(s))


def check_prefix_free(name: str, items: list[str]) -> None:
    # Compare case-sensitively (tokenizer view) and case-insensitively (stricter).
    for fold in (False, True):
        toks = sorted({tuple(t.lower() for t in tokens(x)) if fold else tokens(x) for x in items})
        # after sorting, a strict prefix sorts immediately before some extension;
        # check every consecutive pair plus a full scan of following items sharing the prefix
        for i, a in enumerate(toks):
            for b in toks[i + 1 :]:
                if b[: len(a)] != a:
                    break
                if len(a) < len(b):
                    err(f"{name}: token prefix {' '.join(a)!r} of {' '.join(b)!r}")
    lowered = [x.lower() for x in items]
    if len(set(lowered)) != len(lowered):
        err(f"{name}: case-insensitive duplicates present")


def check_lists() -> None:
    for fname, n in COUNTS.items():
        path = RESOURCES / fname
        if not path.is_file():
            err(f"missing {fname}")
            continue
        items = read_lines(path)
        if len(items) != n:
            err(f"{fname}: expected {n} lines, found {len(items)}")
        for x in items:
            if "{" in x or "}" in x:
                err(f"{fname}: brace in {x!r}")
            if not tokens(x):
                err(f"{fname}: no tokens in {x!r}")
        if fname in NAME_FILES:
            for x in items:
                if not NAME_RE.fullmatch(x):
                    err(f"{fname}: not a single capitalised alphabetic word: {x!r}")
        if fname in NO_COMMA:
            for x in items:
                if "," in x:
                    err(f"{fname}: comma in {x!r}")
        if fname == "companies.txt":
            for x in items:
                if re.search(r"\b(Inc|Ltd|LLC|PLC|Corp)\b\.?$", x):
                    err(f"{fname}: legal suffix in {x!r}")
        if fname in PREFIX_FREE:
            check_prefix_free(fname, items)


def check_templates() -> None:
    all_bodies: dict[str, str] = {}
    for attr in ATTRIBUTES:
        path = RESOURCES / "templates" / f"{attr}.txt"
        if not path.is_file():
            err(f"missing templates/{attr}.txt")
            continue
        lines = read_lines(path)
        if len(lines) != N_TEMPLATES:
            err(f"templates/{attr}.txt: expected {N_TEMPLATES} lines, found {len(lines)}")
        for i, t in enumerate(lines, 1):
            where = f"templates/{attr}.txt:{i}"
            if t.count("{name}") != 1:
                err(f"{where}: '{{name}}' must occur exactly once: {t!r}")
            if t.count("{value}") != 1:
                err(f"{where}: '{{value}}' must occur exactly once: {t!r}")
            if "{name}" in t and "{value}" in t and t.index("{name}") > t.index("{value}"):
                err(f"{where}: '{{name}}' must precede '{{value}}': {t!r}")
            rest = t.replace("{name}", "").replace("{value}", "")
            if "{" in rest or "}" in rest:
                err(f"{where}: stray brace: {t!r}")
            if not t.endswith("."):
                err(f"{where}: must end with a period: {t!r}")
            if t.endswith("{value}"):
                err(f"{where}: value must be followed by the period: {t!r}")
            if "{name}s" in t or "{name}'" in t and "{name}'s" not in t:
                err(f"{where}: possessive must be written {{name}}'s: {t!r}")
            # str.format must work with exactly these keys
            try:
                t.format(name="Ada Mae Smith", value="X")
            except (KeyError, IndexError, ValueError) as e:
                err(f"{where}: str.format failed ({e}): {t!r}")
            if t in all_bodies:
                err(f"{where}: identical template also in {all_bodies[t]}")
            all_bodies[t] = attr
        ending = sum(t.endswith("{value}.") for t in lines)
        if ending * 2 < len(lines):
            err(f"templates/{attr}.txt: only {ending}/{len(lines)} templates end in '{{value}}.'")
    # birth place vs current location must not share a cue (the text before {value})
    cues = {}
    for attr in ("birth_place", "current_location"):
        path = RESOURCES / "templates" / f"{attr}.txt"
        if path.is_file():
            cues[attr] = {t.split("{value}")[0] for t in read_lines(path)}
    if len(cues) == 2 and cues["birth_place"] & cues["current_location"]:
        err(f"birth_place/current_location share cues: {cues['birth_place'] & cues['current_location']}")


def check_sources() -> None:
    path = RESOURCES / "SOURCES.md"
    if not path.is_file():
        err("missing SOURCES.md")
        return
    text = path.read_text(encoding="utf-8")
    for fname in list(COUNTS) + ["templates"]:
        if fname not in text:
            err(f"SOURCES.md does not mention {fname}")


def main() -> int:
    check_lists()
    check_templates()
    check_sources()
    if errors:
        print(f"FAILED: {len(errors)} problem(s)")
        for e in errors:
            print("  -", e)
        return 1
    print("OK: all resource checks passed")
    for fname, n in COUNTS.items():
        print(f"  {fname}: {n}")
    print(f"  templates: {len(ATTRIBUTES)} x {N_TEMPLATES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
