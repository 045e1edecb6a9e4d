"""The tokenizer interface, and the closed-vocabulary word-level tokenizer built from the lists and templates.

Deterministic and download-free. Words, numbers and single punctuation characters are tokens, so a name or
a value never merges with the punctuation around it. Any tokenizer with the same small interface
(:class:`Tokenizer`) can replace it: :mod:`factdyn.data.subword` is a SentencePiece model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
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

    def encode_values(self, texts: Sequence[str]) -> list[list[int]]:
        """One attribute's values, none encoded as a prefix of another (the baseline relies on it)."""
        ...

    def decode(self, ids: Iterable[int]) -> str: ...


def prefix_conflicts(seqs: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """``(i, j)`` pairs in which sequence ``i`` equals sequence ``j`` or is a prefix of it: every such ``i``
    at least once.

    A value whose tokens start another value's would let a model put probability on both at once and beat
    the no-knowledge baseline without knowing anything.
    """
    # In sorted order a sequence that is a prefix of any other is a prefix of the one right after it.
    keys = [tuple(s) for s in seqs]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    pairs = zip(order[:-1], order[1:], strict=True)
    return [(i, j) for i, j in pairs if keys[j][: len(keys[i])] == keys[i]]


def require_prefix_free(texts: Sequence[str], seqs: Sequence[Sequence[int]]) -> None:
    """ValueError naming two values whose encodings are equal or one a prefix of the other."""
    for i, j in prefix_conflicts(seqs)[:1]:
        relation = "the same as" if len(seqs[i]) == len(seqs[j]) else "a prefix of"
        raise ValueError(f"the tokens of value {texts[i]!r} are {relation} those of {texts[j]!r}")


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

    def encode_values(self, texts: Sequence[str]) -> list[list[int]]:
        """Each value's words; the shipped lists are prefix-free by construction (``SOURCES.md``)."""
        seqs = [self.encode(t) for t in texts]
        require_prefix_free(texts, seqs)
        return seqs

    def decode(self, ids: Iterable[int]) -> str:
        words = [self.itos[i] for i in ids if i != self.pad_id]
        text = " ".join(words)
        return re.sub(r" ([.,;:!?')])", r"\1", text).replace(" ' s ", "'s ").replace("( ", "(")
