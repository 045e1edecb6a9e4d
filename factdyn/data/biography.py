"""Assemble biographies from pre-tokenized parts, vectorised over a whole batch.

A sentence is five kinds of segment: template text before the name, the three name parts, template text
between name and value, the value, template text after the value. Every segment is pre-tokenized once into
a padded id table; a batch of biographies is then a handful of numpy gathers and one scatter, with no string
work and no Python loop per token or per sequence. The name and value are inserted after tokenization, so
they never merge with punctuation, and their spans come out of the same arithmetic.

Every segment is encoded with the space before its first word (:class:`SegmentTexts`): a subword tokenizer
marks a word start (``▁James``), so a name part or a value has the same pieces wherever it is inserted; the
word tokenizer ignores spaces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factdyn.data.population import Population
from factdyn.data.resources import ATTRIBUTES, Resources
from factdyn.data.tokenizer import Tokenizer

N_ATTR = len(ATTRIBUTES)


def inserted(text: str) -> str:
    """A name part or a value as it is encoded: after a space (a template's, or between two sentences)."""
    return " " + text


@dataclass(frozen=True)
class SegmentTexts:
    """The strings biographies are assembled from, each spaced as it is encoded.

    A word carries the space before it. Every sentence starts with a space (sentences follow ``<bos>`` or
    each other), and so do name parts and values; the template text before a name or a value gives its
    trailing space to them (``" The birth of"``, ``" occurred on"``); text that follows a name or a value
    directly stays as written (``"'s date of birth is"``, ``"."``). Templates are attribute-major.
    """

    before: tuple[str, ...]
    between: tuple[str, ...]
    after: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    values: dict[str, tuple[str, ...]]

    def template_text(self) -> list[str]:
        """Every distinct non-empty template segment, sorted."""
        return sorted({*self.before, *self.between, *self.after} - {""})

    def inserted_text(self) -> list[str]:
        """Every distinct name part and value, sorted (a city is both a birth place and a location)."""
        texts = {*self.first_names, *self.last_names}
        texts.update(v for values in self.values.values() for v in values)
        return sorted(texts)


def segment_texts(resources: Resources) -> SegmentTexts:
    """The spaced segments of the first ``resources.n_templates`` templates of each attribute, the name
    parts and the values (``load_resources`` checks the spaces around ``{name}`` and ``{value}``)."""
    before, between, after = [], [], []
    for attr in ATTRIBUTES:
        for t in resources.templates[attr][: resources.n_templates]:
            head, rest = t.split("{name}")
            middle, tail = rest.split("{value}")
            before.append(inserted(head.removesuffix(" ")) if head else "")
            between.append(middle.removesuffix(" "))
            after.append(tail)
    return SegmentTexts(
        before=tuple(before),
        between=tuple(between),
        after=tuple(after),
        first_names=tuple(map(inserted, resources.first_names)),
        last_names=tuple(map(inserted, resources.last_names)),
        values={attr: tuple(map(inserted, resources.values[attr])) for attr in ATTRIBUTES},
    )


def _pad_table(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    table = np.zeros((len(seqs), max(1, int(lengths.max(initial=0)))), dtype=np.int64)
    for i, s in enumerate(seqs):
        table[i, : len(s)] = s
    return table, lengths


@dataclass
class BiographyBatch:
    """A padded batch of biographies with the spans of names and attribute values.

    ``tokens`` is (B, L) with ``<bos>`` first, ``<eos>`` last and ``<pad>`` (0) after. Spans are per
    sentence slot k = 0..5 in reading order: ``value_attr[b, k]`` is the attribute type of that sentence,
    ``value_start``/``value_len`` and ``name_start``/``name_len`` index into ``tokens``.
    """

    tokens: np.ndarray
    lengths: np.ndarray
    individual: np.ndarray
    value_attr: np.ndarray
    value_start: np.ndarray
    value_len: np.ndarray
    name_start: np.ndarray
    name_len: np.ndarray

    def value_slot(self) -> np.ndarray:
        """(B, L) sentence slot of each value token, -1 elsewhere."""
        B, L = self.tokens.shape
        slot = np.full((B, L), -1, dtype=np.int64)
        pos = np.arange(L)
        for k in range(self.value_start.shape[1]):
            start, length = self.value_start[:, k : k + 1], self.value_len[:, k : k + 1]
            slot[(pos >= start) & (pos < start + length)] = k
        return slot

    def select(self, rows: np.ndarray) -> BiographyBatch:
        """Rows ``rows`` of the batch, trimmed to their own longest sequence."""
        L = int(self.lengths[rows].max())
        return BiographyBatch(
            tokens=self.tokens[rows, :L],
            **{k: getattr(self, k)[rows] for k in self.__dataclass_fields__ if k != "tokens"},
        )


class BiographyAssembler:
    """Turns (population, individual ids) into token batches, from tables pre-tokenized at construction."""

    def __init__(self, resources: Resources, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.n_templates = resources.n_templates
        texts = segment_texts(resources)
        self.before, self.before_len = _pad_table([tokenizer.encode(t) for t in texts.before])
        self.between, self.between_len = _pad_table([tokenizer.encode(t) for t in texts.between])
        self.after, self.after_len = _pad_table([tokenizer.encode(t) for t in texts.after])
        self.first, self.first_len = _pad_table([tokenizer.encode(n) for n in texts.first_names])
        self.last, self.last_len = _pad_table([tokenizer.encode(n) for n in texts.last_names])
        values: list[list[int]] = []
        offsets = []
        for attr in ATTRIBUTES:
            offsets.append(len(values))
            values.extend(tokenizer.encode_values(texts.values[attr]))
        self.value_offset = np.array(offsets, dtype=np.int64)
        self.cardinalities = [len(resources.values[attr]) for attr in ATTRIBUTES]
        self.value, self.value_len = _pad_table(values)
        # Longest possible biography: <bos> + the longest sentence of each attribute + <eos>.
        longest_name = 2 * int(self.first_len.max()) + int(self.last_len.max())
        sentence = (self.before_len + self.between_len + self.after_len).reshape(N_ATTR, -1).max(axis=1)
        longest_value = [
            int(self.value_len[o : o + len(resources.values[a])].max())
            for o, a in zip(offsets, ATTRIBUTES, strict=True)
        ]
        self.max_seq_len = 2 + int(sentence.sum()) + N_ATTR * longest_name + sum(longest_value)

    def value_tokens(self, attr: int, value: int) -> list[int]:
        row = self.value_offset[attr] + value
        return self.value[row, : self.value_len[row]].tolist()

    def assemble(
        self,
        population: Population,
        individuals: np.ndarray,
        rng: np.random.Generator,
        split: str = "train",
        shuffle_sentences: bool = True,
        template_slot: np.ndarray | None = None,
    ) -> BiographyBatch:
        """One biography per individual: a fresh template per sentence and, by default, a fresh order.

        ``template_slot`` (one per individual) instead picks the same position in the individual's template
        pool for all six sentences: slot ``k`` of ``split="eval"`` is each attribute's ``k``-th held-out
        template (the exhaustive evaluation of ``factdyn test``)."""
        individuals = np.asarray(individuals, dtype=np.int64)
        B = len(individuals)
        S = B * N_ATTR
        if shuffle_sentences:
            attr = np.argsort(rng.random((B, N_ATTR)), axis=1)
        else:
            attr = np.broadcast_to(np.arange(N_ATTR), (B, N_ATTR))
        attr_flat = attr.reshape(S)
        ind = np.repeat(individuals, N_ATTR)
        pool = population.templates(split)[ind, attr_flat]  # (S, n_pool)
        if template_slot is None:
            choice = rng.integers(0, pool.shape[1], S)
        else:
            choice = np.repeat(np.asarray(template_slot, dtype=np.int64), N_ATTR)
        template = attr_flat * self.n_templates + pool[np.arange(S), choice]
        names = population.names[ind]
        value = self.value_offset[attr_flat] + population.values[ind, attr_flat]
        segments = [
            (self.before[template], self.before_len[template]),
            (self.first[names[:, 0]], self.first_len[names[:, 0]]),
            (self.first[names[:, 1]], self.first_len[names[:, 1]]),
            (self.last[names[:, 2]], self.last_len[names[:, 2]]),
            (self.between[template], self.between_len[template]),
            (self.value[value], self.value_len[value]),
            (self.after[template], self.after_len[template]),
        ]
        seg_len = np.stack([length for _, length in segments], axis=1)  # (S, 7)
        seg_start = np.cumsum(seg_len, axis=1) - seg_len  # offset of each segment in its sentence
        sent_len = seg_len.sum(axis=1).reshape(B, N_ATTR)
        sent_start = 1 + np.cumsum(sent_len, axis=1) - sent_len  # after <bos>
        lengths = 2 + sent_len.sum(axis=1)
        tokens = np.zeros((B, int(lengths.max())), dtype=np.int64)
        tokens[:, 0] = self.tokenizer.bos_id
        tokens[np.arange(B), lengths - 1] = self.tokenizer.eos_id
        row = np.repeat(np.arange(B), N_ATTR)
        abs_start = sent_start.reshape(S, 1) + seg_start  # (S, 7)
        for s, (table, length) in enumerate(segments):
            cols = np.arange(table.shape[1])
            mask = cols[None, :] < length[:, None]
            r = np.broadcast_to(row[:, None], mask.shape)[mask]
            tokens[r, (abs_start[:, s : s + 1] + cols[None, :])[mask]] = table[mask]
        return BiographyBatch(
            tokens=tokens,
            lengths=lengths,
            individual=individuals,
            value_attr=np.ascontiguousarray(attr),
            value_start=abs_start[:, 5].reshape(B, N_ATTR),
            value_len=seg_len[:, 5].reshape(B, N_ATTR),
            name_start=abs_start[:, 1].reshape(B, N_ATTR),
            name_len=seg_len[:, 1:4].sum(axis=1).reshape(B, N_ATTR),
        )

    def decode(self, batch: BiographyBatch, row: int) -> str:
        return self.tokenizer.decode(batch.tokens[row, 1 : batch.lengths[row] - 1].tolist())
