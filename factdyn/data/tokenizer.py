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

    def pieces(self, ids: Iterable[int]) -> list[str]:
        """Each id's own token string, for display and for exporting the vocabulary."""
        ...


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

    def pieces(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[int(i)] for i in ids]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids`` (``<pad>`` dropped), with the spaces the tokens lost put back by
        :func:`detokenize`."""
        return detokenize([self.itos[i] for i in ids if i != self.pad_id])


GLUED_BEFORE = frozenset(".,;:!?)'-")
"""Tokens written without a space before them: closing punctuation, apostrophes and hyphens."""
GLUED_AFTER = frozenset("('-")
"""Tokens written without a space after them."""
INITIALS = re.compile(r"[A-Z]{1,2}")
"""Upper-case words of one or two letters, which an ``&`` or ``.`` joins: ``S&P``, ``AT&T``, ``U.S.``."""


def detokenize(words: list[str]) -> str:
    """Join word-level tokens into text: a space between two tokens unless punctuation glues them.

    The spacing is lost at tokenization, so this is a rule of thumb for the shipped corpus: an apostrophe
    or a hyphen joins its neighbours (``Nielsen's``, ``Xi'an``, ``Coca-Cola``), closing punctuation its
    left neighbour, ``&`` and ``.`` two short upper-case words (``S&P``, ``AT&T``, ``U.S.``, ``E.ON``), and
    ``.`` a lower-case word after it (``JD.com``). A name or value is never ambiguous to a caller that knows
    which one it is: look it up instead (the resources hold the exact strings).
    """
    text: list[str] = []
    for k, word in enumerate(words):
        before = words[k - 1] if k else ""
        after = words[k + 1] if k + 1 < len(words) else ""
        glued = (
            k == 0
            or word in GLUED_BEFORE
            or before in GLUED_AFTER
            or (before in "&." and k >= 2 and _joins(words[k - 2], before, word))
            or (word == "&" and _joins(before, word, after))
        )
        text.append(word if glued else f" {word}")
    return "".join(text)


def _joins(left: str, mark: str, right: str) -> bool:
    """Whether ``mark`` (``&`` or ``.``) is written without spaces between ``left`` and ``right``."""
    if mark == "." and right[:1].islower():
        return True
    return bool(INITIALS.fullmatch(left)) and bool(right) and right.isupper()
