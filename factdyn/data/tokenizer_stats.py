"""How many tokens names and values span under each tokenizer: ``python -m factdyn.data.tokenizer_stats``.

Counts come from the assembler's tables, i.e. exactly what biographies insert. For the word tokenizer and
the subword one at ``--vocab-size`` it prints, per name part and per attribute, the distribution of
tokens per item; the full name's distribution is exact over all first x middle x last combinations. Then
examples, the values whose encoding was made prefix-free, the length of training biographies, a summary
line per vocabulary size of ``--sweep`` and one per template weight of ``--weights``. The output is
deterministic (no timings): the committed copy is ``reports/tokenizer/pieces.txt``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np
import sentencepiece

from factdyn.checks import ConfigError
from factdyn.data.biography import BiographyAssembler, segment_texts
from factdyn.data.corpus import corpus
from factdyn.data.population import make_populations
from factdyn.data.resources import ATTRIBUTES, Resources, load_resources
from factdyn.data.subword import CHUNK_PATTERN, TEMPLATE_WEIGHT, VOCAB_SIZE, SubwordTokenizer
from factdyn.data.tokenizer import Tokenizer

HISTOGRAM_TOP = 6
"""The histogram's last column counts this many tokens or more."""

EXAMPLES: dict[str, tuple[str, ...]] = {
    "first name": ("James", "Maria", "Wei", "Mohammed", "Oluwaseun"),
    "last name": ("Smith", "Zhu", "Nielsen"),
    "birth_place": ("Shanghai", "Tokyo", "Cairo"),
    "university": ("Erasmus University Rotterdam",),
    "major": ("Statistics",),
    "company": ("Intuit", "Intuitive Surgical"),
    "birth_date": ("March 16, 2042",),
}
"""Items shown split into pieces (the paper's Figure 1 person is James Frida Zhu of Shanghai)."""


def item_lengths(assembler: BiographyAssembler) -> dict[str, np.ndarray]:
    """Tokens per item, by category: the name parts, each attribute's values and the full names."""
    lengths = {"first / middle name": assembler.first_len, "last name": assembler.last_len}
    for k, attr in enumerate(ATTRIBUTES):
        start = assembler.value_offset[k]
        lengths[attr] = assembler.value_len[start : start + assembler.cardinalities[k]]
    return lengths


def histogram(lengths: np.ndarray) -> np.ndarray:
    """Fraction of items with 0, 1, ... tokens (index = tokens)."""
    return np.bincount(lengths) / len(lengths)


def full_name_histogram(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Exact distribution of first + middle + last tokens over every combination of the lists."""
    f = histogram(first)
    return np.convolve(np.convolve(f, f), histogram(last))


def format_row(label: str, hist: np.ndarray) -> str:
    tokens = np.arange(len(hist))
    mean = float((tokens * hist).sum())
    median = int(np.searchsorted(np.cumsum(hist), 0.5))
    cells = [hist[n] if n < len(hist) else 0.0 for n in range(1, HISTOGRAM_TOP)]
    cells.append(hist[HISTOGRAM_TOP:].sum())
    share = " ".join(f"{100 * c:5.1f}" for c in cells)
    return f"  {label:<22} {mean:6.2f} {median:6d} {int(np.nonzero(hist)[0].max()):4d}   {share}"


def distribution_table(assembler: BiographyAssembler) -> list[str]:
    head = " ".join(f"{n:>5}" for n in range(1, HISTOGRAM_TOP)) + f" {f'{HISTOGRAM_TOP}+':>5}"
    lines = [
        f"  {'item':<22} {'mean':>6} {'median':>6} {'max':>4}   % of items with 1..{HISTOGRAM_TOP}+ tokens"
    ]
    lines.append(f"  {'':<22} {'':>6} {'':>6} {'':>4}   {head}")
    lengths = item_lengths(assembler)
    for label, values in lengths.items():
        lines.append(format_row(label, histogram(values)))
    full = full_name_histogram(lengths["first / middle name"], lengths["last name"])
    lines.append(format_row("full name", full))
    return lines


def template_tokens_per_word(tokenizer: Tokenizer, resources: Resources) -> float:
    """Tokens per word or punctuation mark of the template text (1.0: every template word is one piece)."""
    texts = segment_texts(resources).template_text()
    return sum(len(tokenizer.encode(t)) for t in texts) / sum(len(CHUNK_PATTERN.findall(t)) for t in texts)


def biography_lengths(assembler: BiographyAssembler, resources: Resources, n: int = 4096) -> np.ndarray:
    """Token lengths of ``n`` training biographies of a seed-0 population of 2,000 individuals."""
    populations = make_populations(
        seed=0,
        sizes={"train": 2000, "unseen": 0, "new": 0},
        n_first_names=len(resources.first_names),
        n_last_names=len(resources.last_names),
        cardinalities=assembler.cardinalities,
        n_templates=assembler.n_templates,
        n_templates_train=20,
        n_templates_eval=5,
    )
    rng = np.random.default_rng(0)
    train = populations["train"]
    return assembler.assemble(train, rng.integers(0, len(train), n), rng).lengths


def inserted_ids(assembler: BiographyAssembler, resources: Resources, category: str, item: str) -> list[int]:
    """The tokens biographies insert for ``item`` of ``category`` (a key of :data:`EXAMPLES`)."""
    if category == "first name":
        row = resources.first_names.index(item)
        return assembler.first[row, : assembler.first_len[row]].tolist()
    if category == "last name":
        row = resources.last_names.index(item)
        return assembler.last[row, : assembler.last_len[row]].tolist()
    return assembler.value_tokens(ATTRIBUTES.index(category), resources.values[category].index(item))


def examples(tokenizer: SubwordTokenizer, assembler: BiographyAssembler, resources: Resources) -> list[str]:
    lines = []
    for category, items in EXAMPLES.items():
        for item in items:
            pieces = tokenizer.pieces(inserted_ids(assembler, resources, category, item))
            lines.append(f"  {category:<12} {item!r:<32} {' '.join(pieces)}")
    return lines


def repaired(tokenizer: SubwordTokenizer, assembler: BiographyAssembler, resources: Resources) -> list[str]:
    """Each value whose inserted pieces differ from its plain BPE encoding (made prefix-free), both shown."""
    lines = []
    texts = segment_texts(resources)
    for k, attr in enumerate(ATTRIBUTES):
        for v, text in enumerate(texts.values[attr]):
            ids, plain = assembler.value_tokens(k, v), tokenizer.encode(text)
            if ids != plain:
                shown, bpe = " ".join(tokenizer.pieces(ids)), " ".join(tokenizer.pieces(plain))
                lines.append(f"  {attr} {text.strip()!r}: {shown} (plain BPE: {bpe})")
    return lines


def sweep_row(vocab_size: int) -> str:
    tokenizer, assembler = corpus("subword", vocab_size)
    lengths = item_lengths(assembler)
    first, last = lengths["first / middle name"], lengths["last name"]
    full = full_name_histogram(first, last)
    means = [float(np.mean(lengths[attr])) for attr in ATTRIBUTES]
    n_split = len(repaired(tokenizer, assembler, load_resources()))
    return (
        f"  {vocab_size:>6} {np.mean(first):6.2f} {100 * np.mean(first == 1):5.1f} {np.mean(last):6.2f} "
        f"{100 * np.mean(last == 1):5.1f} {(np.arange(len(full)) * full).sum():6.2f}  "
        + " ".join(f"{m:5.2f}" for m in means)
        + f"  {n_split:5d}  {tokenizer.fingerprint}"
    )


def allowed_sizes(resources: Resources) -> str:
    """What ``data.subword_vocab_size`` allows for this corpus, as its error message says."""
    try:
        SubwordTokenizer.train(segment_texts(resources), 10**7)
    except ConfigError as err:
        return err.allowed
    raise AssertionError("a vocabulary of 10,000,000 pieces was accepted")


def weight_row(resources: Resources, vocab_size: int, weight: int) -> str:
    tokenizer = SubwordTokenizer.train(segment_texts(resources), vocab_size, template_weight=weight)
    lengths = item_lengths(BiographyAssembler(resources, tokenizer))
    first, last = lengths["first / middle name"], lengths["last name"]
    return (
        f"  {weight:>6} {template_tokens_per_word(tokenizer, resources):8.3f} {np.mean(first):6.2f} "
        f"{100 * np.mean(first == 1):5.1f} {np.mean(last):6.2f} {100 * np.mean(last == 1):5.1f}"
    )


def report(vocab_size: int, sweep: Sequence[int], weights: Sequence[int]) -> list[str]:
    resources = load_resources()
    lines = [
        "Tokens per name part and per attribute value, as inserted into biographies",
        f"(python -m factdyn.data.tokenizer_stats; sentencepiece {sentencepiece.__version__}; "
        f"subword model: BPE, template segments weighted {TEMPLATE_WEIGHT}x, names and values 1x)",
        f"data.subword_vocab_size allowed: {allowed_sizes(resources)}",
        "",
    ]
    for kind in ("word", "subword"):
        tokenizer, assembler = corpus(kind, vocab_size)
        size = f", data.subword_vocab_size {vocab_size}" if kind == "subword" else ""
        lines.append(f"data.tokenizer {kind}{size}: vocab_size {tokenizer.vocab_size}, "
                     f"fingerprint {tokenizer.fingerprint}")  # fmt: skip
        lines += distribution_table(assembler)
        bio = biography_lengths(assembler, resources)
        lines.append(
            f"  template text: {template_tokens_per_word(tokenizer, resources):.3f} tokens per word or mark; "
            f"training biography: {bio.mean():.1f} tokens on average (4,096 drawn, N = 2,000, seed 0), "
            f"{bio.max()} at most of them; max_seq_len {assembler.max_seq_len}"
        )
        lines.append("")
    tokenizer, assembler = corpus("subword", vocab_size)
    assert isinstance(tokenizer, SubwordTokenizer)
    lines.append(f"Pieces of some names and values (subword, {vocab_size}; ▁ marks a space):")
    lines += examples(tokenizer, assembler, resources)
    lines.append("")
    lines.append("Values encoded with their last piece split, so that no value's pieces start another's:")
    lines += repaired(tokenizer, assembler, resources) or ["  none"]
    lines.append("")
    lines.append(
        "Vocabulary sizes (mean tokens; % = share of one-piece names; 'split' = values made prefix-free):"
    )
    lines.append(
        f"  {'size':>6} {'first':>6} {'%1':>5} {'last':>6} {'%1':>5} {'full':>6}  "
        + " ".join(f"{a[:5]:>5}" for a in ATTRIBUTES)
        + f"  {'split':>3}  fingerprint"
    )
    lines += [sweep_row(size) for size in sweep]
    lines.append("")
    lines.append(f"Template weights (size {vocab_size}; the default is {TEMPLATE_WEIGHT}):")
    lines.append(f"  {'weight':>6} {'tmpl/wd':>8} {'first':>6} {'%1':>5} {'last':>6} {'%1':>5}")
    lines += [weight_row(resources, vocab_size, weight) for weight in weights]
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--vocab-size", type=int, default=VOCAB_SIZE, help="the subword model described in full"
    )
    parser.add_argument(
        "--sweep", default="1024,2048,3072,4096,5120,6144,8192", help="comma-separated vocabulary sizes"
    )
    parser.add_argument("--weights", default="1,5,25,100", help="comma-separated template weights")
    args = parser.parse_args(argv)

    def sizes(text: str) -> list[int]:
        return [int(s) for s in text.split(",") if s]

    print("\n".join(report(args.vocab_size, sizes(args.sweep), sizes(args.weights))))


if __name__ == "__main__":
    main()
