"""Closed-vocabulary word-level tokenizer built from the value lists and templates.

Deterministic and download-free. Words, numbers and single punctuation characters are tokens, so a name or
a value never merges with the punctuation around it. Any tokenizer with the same small interface
(:class:`Tokenizer`) can replace it, e.g. a subword model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Protocol

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9]+|[^A-Za-z0-9\s]")
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")


class Tokenizer(Protocol):
    """What the data pipeline needs from a tokenizer."""

    pad_id: int
    bos_id: int
    eos_id: int

    @property
    def vocab_size(self) -> int: ...

    @property
    def fingerprint(self) -> str: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Iterable[int]) -> str: ...


class WordTokenizer:
    """Word-level tokenizer over a fixed vocabulary; ids 0-3 are ``<pad> <bos> <eos> <unk>``."""

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __init__(self, words: Iterable[str]) -> None:
        self.itos: list[str] = list(SPECIAL_TOKENS) + sorted(set(words) - set(SPECIAL_TOKENS))
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> WordTokenizer:
        words: set[str] = set()
        for text in texts:
            words.update(TOKEN_PATTERN.findall(text))
        return cls(words)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    @property
    def fingerprint(self) -> str:
        """Short hash of the vocabulary: checkpoints store it so a mismatched tokenizer is refused."""
        return hashlib.sha256("\n".join(self.itos).encode()).hexdigest()[:16]

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(w, self.unk_id) for w in TOKEN_PATTERN.findall(text)]

    def decode(self, ids: Iterable[int]) -> str:
        words = [self.itos[i] for i in ids if i != self.pad_id]
        text = " ".join(words)
        return re.sub(r" ([.,;:!?')])", r"\1", text).replace(" ' s ", "'s ").replace("( ", "(")
