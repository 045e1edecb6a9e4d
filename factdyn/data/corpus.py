"""The shipped corpus: the resources, their tokenizer (``data.tokenizer``) and the pre-tokenized assembler."""

from __future__ import annotations

from functools import cache

from factdyn.checks import require_choice
from factdyn.data.biography import BiographyAssembler, segment_texts
from factdyn.data.resources import ATTRIBUTES, Resources, load_resources
from factdyn.data.subword import VOCAB_SIZE, SubwordTokenizer
from factdyn.data.tokenizer import Tokenizer, WordTokenizer

TOKENIZERS: tuple[str, ...] = ("word", "subword")
"""The values of ``data.tokenizer``: the closed word vocabulary (the default) or a SentencePiece BPE model."""


def word_tokenizer(resources: Resources) -> WordTokenizer:
    """The closed word vocabulary of the names, the values and the templates (4,017 tokens when shipped)."""
    texts = [
        *resources.first_names,
        *resources.last_names,
        *(t for ts in resources.templates.values() for t in ts),
    ]
    texts += [v for attr in ATTRIBUTES if attr != "birth_date" for v in resources.values[attr]]
    texts += [v for v in resources.values["birth_date"][: 12 * 31]]  # months and days; years below
    texts += [str(year) for year in range(1900, 2101)]
    return WordTokenizer.from_texts(texts)


def corpus(
    tokenizer: str = "word", subword_vocab_size: int = VOCAB_SIZE
) -> tuple[Tokenizer, BiographyAssembler]:
    """The shipped resources' tokenizer of kind ``tokenizer`` and their pre-tokenized assembler, built once
    per process; ``subword_vocab_size`` is the subword vocabulary's size (the word tokenizer ignores it)."""
    require_choice("data.tokenizer", tokenizer, TOKENIZERS)
    return _corpus(tokenizer, subword_vocab_size if tokenizer == "subword" else None)


@cache
def _corpus(tokenizer: str, subword_vocab_size: int | None) -> tuple[Tokenizer, BiographyAssembler]:
    resources = load_resources()
    if subword_vocab_size is None:
        built: Tokenizer = word_tokenizer(resources)
    else:
        built = SubwordTokenizer.train(segment_texts(resources), subword_vocab_size)
    return built, BiographyAssembler(resources, built)


def default_corpus() -> tuple[Tokenizer, BiographyAssembler]:
    """The shipped resources with the default word tokenizer."""
    return corpus("word")
