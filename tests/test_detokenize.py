"""Decoded text puts back the spaces tokenization lost: every name, value and template reads as written."""

from __future__ import annotations

import pytest

from factdyn.data.corpus import default_corpus
from factdyn.data.resources import ATTRIBUTES, load_resources
from factdyn.data.tokenizer import detokenize


def roundtrip(text: str) -> str:
    tokenizer, _ = default_corpus()
    return tokenizer.decode(tokenizer.encode(text))


def test_every_name_and_value_reads_as_written() -> None:
    r = load_resources()
    # Birth dates share one pattern: every month and day of one year, and every year of one day.
    dates = [*r.values["birth_date"][: 12 * 31], *r.values["birth_date"][:: 12 * 31]]
    texts = [*r.first_names, *r.last_names, *dates, *(v for a in ATTRIBUTES[1:] for v in r.values[a])]
    wrong = [t for t in texts if roundtrip(t) != t]
    assert wrong == []


def test_every_template_reads_as_written() -> None:
    r = load_resources()
    # A last name before "'s" (the "Nielsen' s" of the old decoder) and a value with an apostrophe.
    sentences = [
        t.replace("{name}", "Emma Maria Nielsen").replace("{value}", "Xi'an")
        for a in ATTRIBUTES
        for t in r.templates[a]
    ]
    wrong = [s for s in sentences if roundtrip(s) != s]
    assert wrong == []
    sentence = "Emma Maria Nielsen's birthplace is Xi'an."
    assert roundtrip(sentence) == sentence


@pytest.mark.parametrize(
    ("words", "text"),
    [
        (["Moody", "'", "s", "and", "AT", "&", "T", "."], "Moody's and AT&T."),
        (["Mitsui", "&", "Co", ".", "Next"], "Mitsui & Co. Next"),
        (["U", ".", "S", ".", "Bancorp", ",", "JD", ".", "com"], "U.S. Bancorp, JD.com"),
        (["(", "Port", "-", "au", "-", "Prince", ")"], "(Port-au-Prince)"),
        ([], ""),
    ],
)
def test_spacing_rules(words: list[str], text: str) -> None:
    assert detokenize(words) == text
