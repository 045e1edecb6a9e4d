"""The attribute values as token sequences: which token strings are values, and where a value ends.

Greedy decoding needs to know when the model has finished a value. The shipped values are prefix-free token
sequences (``tests/test_data.py`` checks it), so a complete value ends the answer; a token that cannot
continue any value, when it is the one the template writes after the value, ends it too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from factdyn.data.biography import BiographyAssembler
from factdyn.data.resources import ATTRIBUTES, Resources


class AttributeValues:
    """One attribute's values as a padded token table: is a sequence a value, or the start of one?

    Vectorised over the values (74,772 birth dates): a set of every prefix would take seconds to build.
    """

    def __init__(self, table: np.ndarray, lengths: np.ndarray) -> None:
        self.table = table
        self.lengths = lengths
        self.longest = int(lengths.max())

    def _matching(self, tokens: Sequence[int]) -> np.ndarray:
        k = len(tokens)
        if k > self.longest:
            return np.zeros(len(self.table), dtype=bool)
        return (self.lengths >= k) & (self.table[:, :k] == np.asarray(tokens, dtype=self.table.dtype)).all(1)

    def starts_a_value(self, tokens: Sequence[int]) -> bool:
        """Whether some value begins with ``tokens`` (or is ``tokens``)."""
        return bool(self._matching(tokens).any())

    def index(self, tokens: Sequence[int]) -> int | None:
        """The index of the value ``tokens`` spell, else ``None``."""
        found = np.flatnonzero(self._matching(tokens) & (self.lengths == len(tokens)))
        return int(found[0]) if len(tokens) and len(found) else None


class ValueVocabulary:
    """The value token sequences of each attribute and their exact texts."""

    def __init__(self, assembler: BiographyAssembler, resources: Resources) -> None:
        self.assembler = assembler
        self.resources = resources
        self._tables: dict[str, AttributeValues] = {}

    def of(self, attribute: str) -> AttributeValues:
        if attribute not in self._tables:
            a = ATTRIBUTES.index(attribute)
            rows = slice(
                self.assembler.value_offset[a],
                self.assembler.value_offset[a] + self.assembler.cardinalities[a],
            )
            self._tables[attribute] = AttributeValues(
                self.assembler.value[rows], self.assembler.value_len[rows]
            )
        return self._tables[attribute]

    def value_index(self, attribute: str, tokens: Sequence[int]) -> int | None:
        """The index of the value these tokens spell, else ``None``."""
        return self.of(attribute).index(tokens)

    def text(self, attribute: str, tokens: Sequence[int]) -> str:
        """The value's exact text when the tokens spell one, else the tokenizer's best guess at spacing."""
        index = self.value_index(attribute, tokens)
        if index is not None:
            return self.resources.values[attribute][index]
        return self.assembler.tokenizer.decode(tokens)
