"""Value lists and templates shipped as plain text in ``factdyn/data/resources`` (sources: SOURCES.md)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

RESOURCE_DIR = Path(__file__).parent / "resources"

ATTRIBUTES: tuple[str, ...] = (
    "birth_date",
    "birth_place",
    "university",
    "major",
    "company",
    "current_location",
)
"""The six attribute types, in a fixed order used for indexing everywhere."""

VALUE_FILES = {
    "birth_place": "cities.txt",
    "university": "universities.txt",
    "major": "majors.txt",
    "company": "companies.txt",
    "current_location": "cities.txt",
}

MONTHS: tuple[str, ...] = tuple(calendar.month_name[1:])
YEARS = range(1900, 2101)
DAYS = range(1, 32)


def _read_lines(path: Path) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line]


def birth_dates() -> list[str]:
    """All 201 x 12 x 31 = 74,772 dates, impossible ones included (as in the paper), "March 16, 2042"."""
    return [f"{month} {day}, {year}" for year in YEARS for month in MONTHS for day in DAYS]


@dataclass(frozen=True)
class Resources:
    """Everything a biography is built from: names, value lists and templates per attribute."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    values: dict[str, tuple[str, ...]]
    templates: dict[str, tuple[str, ...]]

    @property
    def cardinalities(self) -> dict[str, int]:
        return {attr: len(self.values[attr]) for attr in ATTRIBUTES}

    @property
    def n_templates(self) -> int:
        return min(len(t) for t in self.templates.values())


@cache
def load_resources(root: str | None = None) -> Resources:
    """Read the shipped lists (or those under ``root``) and check their basic shape."""
    base = Path(root) if root else RESOURCE_DIR
    values = {attr: tuple(_read_lines(base / name)) for attr, name in VALUE_FILES.items()}
    values["birth_date"] = tuple(birth_dates())
    templates = {attr: tuple(_read_lines(base / "templates" / f"{attr}.txt")) for attr in ATTRIBUTES}
    for attr, items in templates.items():
        for t in items:
            if t.count("{name}") != 1 or t.count("{value}") != 1 or t.index("{name}") > t.index("{value}"):
                raise ValueError(f"template for {attr} must hold one {{name}} before one {{value}}: {t!r}")
            # A name part or a value is encoded after a space (biography.inserted): the text must have one.
            head, rest = t.split("{name}")
            if (head and not head.endswith(" ")) or not rest.split("{value}")[0].endswith(" "):
                raise ValueError(
                    f"template for {attr} must have a space (or the start) before {{name}} and a space "
                    f"before {{value}}: {t!r}"
                )
    return Resources(
        first_names=tuple(_read_lines(base / "first_names.txt")),
        last_names=tuple(_read_lines(base / "last_names.txt")),
        values={attr: values[attr] for attr in ATTRIBUTES},
        templates=templates,
    )
