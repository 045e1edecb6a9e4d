"""Subword tokenizer: a SentencePiece BPE model trained on the biography corpus (``data.tokenizer subword``).

The paper tokenizes with Chinchilla's 32k SentencePiece model, under which a name or a value spans several
pieces drawn from an open vocabulary shared with all other text. This model is trained, without any
download, on the distinct strings biographies are assembled from
(:func:`factdyn.data.biography.segment_texts`): every name part and every attribute value counted once,
every template segment :data:`TEMPLATE_WEIGHT` times. Training is deterministic: the input is a sorted
table of chunk counts, one thread, no sampling, so the same resources and vocabulary size give the same
pieces and ids in every process (the fingerprint says so). It does not depend on ``data.seed``.

Three choices shape the pieces (``docs/tokenizer.md``):

- Spaces are marked at the start of a word (``▁James``), as in SentencePiece, and the corpus is spaced the
  way biographies are encoded: every name part and value is preceded by a space, so it is encoded once,
  on its own, and inserted wherever it occurs with the same pieces.
- Training sees words and punctuation apart (:data:`CHUNK_PATTERN`), so no piece joins a letter or a digit
  to punctuation: ``March 16, 2042`` is ``▁March ▁16 , ▁2042``, never ``▁16,``.
- Template text is ordinary English, whose words a general-purpose vocabulary holds whole; weighted, it
  is merged first. Names and values compete with each other for the rest, so how many pieces they span is
  set by the vocabulary size; the 74,772 dates make months, days and years frequent, as in real text.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import sentencepiece as spm

from factdyn.checks import ConfigError
from factdyn.data.biography import SegmentTexts
from factdyn.data.tokenizer import prefix_conflicts, require_prefix_free

VOCAB_SIZE = 5120
"""Default pieces of the subword vocabulary, special tokens included (why: ``docs/tokenizer.md``)."""

VOCAB_SIZE_FIELD = "data.subword_vocab_size"

TEMPLATE_WEIGHT = 25
"""Times each template segment counts in training, against once for each name part and value: enough for
every template word to be one piece (``reports/tokenizer/pieces.txt`` compares weights)."""

CHUNK_PATTERN = re.compile(r" ?[A-Za-z0-9]+| ?[^A-Za-z0-9\s]")
"""How training text is cut before BPE counts pairs: a word or number, or one punctuation character, each
with the space before it."""

SPACE = "\u2581"  # SentencePiece's visible space, "▁"
N_SPECIAL = 4  # <pad> <s> </s> <unk>

TRAINER_OPTIONS: dict[str, object] = {
    "model_type": "bpe",
    "input_format": "tsv",  # one "chunk<TAB>count" line per distinct chunk
    "character_coverage": 1.0,  # every character of the corpus is a piece: no <unk>, no byte fallback
    "add_dummy_prefix": False,  # the text says where spaces are (a leading " " marks a word start)
    "remove_extra_whitespaces": False,
    "normalization_rule_name": "identity",
    "split_digits": False,
    "pad_id": 0,
    "bos_id": 1,
    "eos_id": 2,
    "unk_id": 3,
    "num_threads": 1,
    "hard_vocab_limit": False,  # a vocabulary larger than the corpus allows comes out smaller: refused below
    "minloglevel": 2,
}
"""SentencePiece trainer settings; only ``vocab_size`` varies."""


def training_table(texts: SegmentTexts, template_weight: int = TEMPLATE_WEIGHT) -> list[str]:
    """Sorted ``chunk<TAB>count`` lines: each chunk of the training text and how often it occurs there."""
    counts: Counter[str] = Counter()
    for weight, strings in ((template_weight, texts.template_text()), (1, texts.inserted_text())):
        for text in strings:
            for chunk in CHUNK_PATTERN.findall(text):
                counts[chunk] += weight
    return [f"{chunk}\t{n}" for chunk, n in sorted(counts.items())]


class SubwordTokenizer:
    """SentencePiece BPE tokenizer; ids 0-3 are ``<pad> <s> </s> <unk>`` as in :class:`WordTokenizer`.

    Build it with :meth:`train`; it pickles as its serialized model (for DataLoader workers).
    """

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __init__(self, model_proto: bytes) -> None:
        self.model_proto = model_proto
        self.processor = spm.SentencePieceProcessor(model_proto=model_proto)

    @classmethod
    def train(
        cls, texts: SegmentTexts, vocab_size: int, template_weight: int = TEMPLATE_WEIGHT
    ) -> SubwordTokenizer:
        """Train on the corpus's segments; ``vocab_size`` counts the special tokens.

        Raises :class:`ConfigError` naming ``data.subword_vocab_size`` when the size is outside what the
        corpus allows: at least its characters plus the special tokens, at most every piece BPE can merge.
        """
        table = training_table(texts, template_weight)
        alphabet = {c for line in table for c in line.partition("\t")[0].replace(" ", SPACE)}
        smallest = N_SPECIAL + len(alphabet)
        if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < smallest:
            allowed = f"an integer >= {smallest} (the corpus's characters and 4 special tokens)"
            raise ConfigError(VOCAB_SIZE_FIELD, allowed, vocab_size)
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(table), model_writer=model, vocab_size=vocab_size, **TRAINER_OPTIONS
        )
        tokenizer = cls(model.getvalue())
        if tokenizer.vocab_size < vocab_size:
            allowed = f"an integer in [{smallest}, {tokenizer.vocab_size}] (the pieces this corpus has)"
            raise ConfigError(VOCAB_SIZE_FIELD, allowed, vocab_size)
        return tokenizer

    def __getstate__(self) -> dict[str, bytes]:
        return {"model_proto": self.model_proto}

    def __setstate__(self, state: dict[str, bytes]) -> None:
        self.__init__(state["model_proto"])

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    @property
    def fingerprint(self) -> str:
        """Short hash of the kind, the pieces in id order and their merge scores (which fix the encoding):
        differs from every word vocabulary and between vocabulary sizes, so a checkpoint is refused for
        another tokenizer."""
        sp = self.processor
        lines = ["sentencepiece-bpe", *(f"{sp.id_to_piece(i)}\t{sp.get_score(i)}" for i in range(len(self)))]
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str) -> list[int]:
        return self.processor.encode(text)

    def encode_values(self, texts: Sequence[str]) -> list[list[int]]:
        """Each of one attribute's values, encoded so that none is a prefix of another.

        BPE breaks this where a value ends in a whole-word piece another value's word starts with:
        ``Intuit`` is ``▁Intuit`` and ``Intuitive Surgical`` starts ``▁Intuit ive``. Such a value's last
        piece is split in two pieces of the vocabulary (``▁Intui t``), the longest first part that works, so
        that probabilities over values sum to one and the no-knowledge baseline stays log(cardinality).
        """
        seqs: list[list[int]] = self.processor.encode(list(texts))
        # Ends: every round splits a piece into shorter ones, and a one-character piece does not split.
        while conflicts := prefix_conflicts(seqs):
            for i in sorted({short for short, _ in conflicts}):
                seqs[i] = seqs[i][:-1] + self.split_piece(seqs[i][-1])
        require_prefix_free(texts, seqs)
        return seqs

    def split_piece(self, piece_id: int) -> list[int]:
        """Two pieces that spell piece ``piece_id``, with the longest first part (ValueError if none)."""
        text = self.processor.id_to_piece(piece_id)
        for cut in range(len(text) - 1, 0, -1):
            left, right = self.processor.piece_to_id(text[:cut]), self.processor.piece_to_id(text[cut:])
            if self.unk_id not in (left, right):
                return [left, right]
        raise ValueError(f"subword piece {text!r} cannot be split into two pieces of the vocabulary")

    def pieces(self, ids: Iterable[int]) -> list[str]:
        """The pieces of ``ids`` as strings (``▁`` marks a space), for display."""
        return [self.processor.id_to_piece(int(i)) for i in ids]

    def decode(self, ids: Iterable[int]) -> str:
        # A biography, a name or a value starts at a word start: drop the space its first piece carries.
        return self.processor.decode([int(i) for i in ids if i != self.pad_id]).lstrip(" ")
