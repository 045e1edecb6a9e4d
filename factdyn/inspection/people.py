"""The individuals of a run by full name: who "Ava Grace Nielsen" is, and the closest names when no one is.

Names are unique across the populations of a run (train, unseen, new), so a full name identifies one
individual of one population. No torch: names are strings built from the resources' lists.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from factdyn.checks import ConfigError, require_choice
from factdyn.data.population import Population
from factdyn.data.resources import ATTRIBUTES, Resources

CLOSEST = 3
"""Names an error suggests."""


@dataclass(frozen=True)
class Person:
    """One individual: its population (``train``, ``unseen`` or ``new``), its index there and full name."""

    population: str
    index: int
    name: str


def full_name(resources: Resources, population: Population, index: int) -> str:
    """``first middle last`` of individual ``index`` (the middle name comes from the first-name list)."""
    first, middle, last = population.names[index]
    return f"{resources.first_names[first]} {resources.first_names[middle]} {resources.last_names[last]}"


class People:
    """Every individual of a run's populations, found by full name or by (population, index)."""

    def __init__(self, resources: Resources, populations: Mapping[str, Population]) -> None:
        self.resources = resources
        self.populations = {role: p for role, p in populations.items() if len(p)}
        self._by_name: dict[str, Person] | None = None

    @property
    def by_name(self) -> dict[str, Person]:
        """Full name -> person (built on first use: a paper-size run has 65,000 names)."""
        if self._by_name is None:
            self._by_name = {
                full_name(self.resources, p, i): Person(role, i, full_name(self.resources, p, i))
                for role, p in self.populations.items()
                for i in range(len(p))
            }
        return self._by_name

    def find(self, name: str) -> Person:
        """The person called ``name`` (spaces and case as written by :func:`full_name`), else a one-line
        :class:`ConfigError` listing the populations and the closest names."""
        key = " ".join(str(name).split())
        found = self.by_name.get(key)
        if found is not None:
            return found
        close = closest_names(key, self.by_name)
        sizes = ", ".join(f"{len(p)} {role}" for role, p in self.populations.items())
        hint = f"; closest: {', '.join(map(repr, close))}" if close else ""
        raise ConfigError("name", f"the full name of an individual of this run ({sizes}{hint})", name)

    def at(self, population: str, index: int) -> Person:
        """Individual ``index`` of ``population``; a one-line error naming the allowed range."""
        require_choice("population", population, list(self.populations))
        size = len(self.populations[population])
        if not (isinstance(index, int) and 0 <= index < size):
            raise ConfigError(
                "individual", f"an index in [0, {size - 1}] of the {population} population", index
            )
        return Person(population, index, full_name(self.resources, self.populations[population], index))


def closest_names(name: str, names: Mapping[str, Person], n: int = CLOSEST) -> list[str]:
    """The ``n`` names most like ``name``: among those sharing its last word (the last name) when there are
    any, so that a typo in a first name is found without comparing every name of a large run."""
    last = name.rsplit(" ", 1)[-1].lower()
    pool = [k for k in names if k.rsplit(" ", 1)[-1].lower() == last] or list(names)
    return difflib.get_close_matches(name, pool, n=n, cutoff=0.0 if len(pool) < len(names) else 0.6)


def require_attribute(attribute: str) -> str:
    """``attribute`` if it is one of the six, else a one-line error listing them and the closest one."""
    if attribute in ATTRIBUTES:
        return attribute
    close = difflib.get_close_matches(str(attribute), ATTRIBUTES, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError("attribute", f"one of {', '.join(map(repr, ATTRIBUTES))}{hint}", attribute)
