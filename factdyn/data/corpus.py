"""The shipped corpus: the resources, their closed-vocabulary tokenizer and the pre-tokenized assembler."""

from __future__ import annotations

from functools import cache

from factdyn.data.biography import BiographyAssembler
from factdyn.data.resources import ATTRIBUTES, load_resources
from factdyn.data.tokenizer import WordTokenizer


@cache
def default_corpus() -> tuple[WordTokenizer, BiographyAssembler]:
    """The shipped resources, their closed-vocabulary tokenizer and the pre-tokenized assembler."""
    resources = load_resources()
    texts = [
        *resources.first_names,
        *resources.last_names,
        *(t for ts in resources.templates.values() for t in ts),
    ]
    texts += [v for attr in ATTRIBUTES if attr != "birth_date" for v in resources.values[attr]]
    texts += [v for v in resources.values["birth_date"][: 12 * 31]]  # months and days; years below
    texts += [str(year) for year in range(1900, 2101)]
    tokenizer = WordTokenizer.from_texts(texts)
    return tokenizer, BiographyAssembler(resources, tokenizer)
