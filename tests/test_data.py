"""Data invariants: populations, template splits, spans, determinism, validation."""

from __future__ import annotations

import numpy as np
import pytest

from factdyn.data.corpus import TOKENIZERS, corpus
from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.resources import ATTRIBUTES, load_resources
from factdyn.data.stream import BiographyStream

DM_ARGS = dict(
    n_individuals=300, n_unseen=50, n_new=40, batch_size=16, n_val_sequences=64, n_unseen_sequences=32
)


@pytest.fixture(scope="module", params=TOKENIZERS)
def dm(request) -> BiographyDataModule:
    """The same population under each tokenizer: every invariant below holds for both."""
    module = BiographyDataModule(**DM_ARGS, tokenizer=request.param)
    module.setup()
    return module


def stream(dm: BiographyDataModule, seed: int = 0, rank: int = 0) -> BiographyStream:
    return BiographyStream(dm.assembler, dm.populations["train"], dm.sampler, 16, seed, 0, rank, True)


def test_resources_have_the_papers_sizes() -> None:
    r = load_resources()
    assert len(r.first_names) == 900 and len(r.last_names) == 1000
    assert r.cardinalities == {
        "birth_date": 201 * 12 * 31,
        "birth_place": 800,
        "university": 200,
        "major": 100,
        "company": 500,
        "current_location": 800,
    }
    assert r.templates.keys() == r.cardinalities.keys()
    assert all(len(t) == 25 for t in r.templates.values())


@pytest.mark.parametrize("tokenizer", TOKENIZERS)
def test_values_are_prefix_free_token_sequences(tokenizer: str) -> None:
    """A value that is a token prefix of another would let a model beat the baseline without knowledge."""
    tok, assembler = corpus(tokenizer)
    r = load_resources()
    for k, attr in enumerate(ATTRIBUTES):
        seqs = {tuple(assembler.value_tokens(k, v)) for v in range(len(r.values[attr]))}
        assert len(seqs) == len(r.values[attr])
        for s in seqs:
            assert not any(s[:i] in seqs for i in range(1, len(s))), (attr, tok.decode(s))
    assert tok.unk_id not in assembler.value


def test_populations_are_disjoint_and_names_unique(dm: BiographyDataModule) -> None:
    names = np.concatenate([dm.populations[r].names for r in ("train", "unseen", "new")])
    assert len(names) == 390
    assert len({tuple(n) for n in names}) == 390


def test_training_population_does_not_depend_on_other_roles() -> None:
    a = BiographyDataModule(n_individuals=100, n_unseen=10, n_new=0)
    b = BiographyDataModule(n_individuals=100, n_unseen=30, n_new=20)
    a.setup()
    b.setup()
    np.testing.assert_array_equal(a.populations["train"].names, b.populations["train"].names)
    np.testing.assert_array_equal(a.populations["train"].values, b.populations["train"].values)


def test_template_split_is_20_5_disjoint_and_per_individual(dm: BiographyDataModule) -> None:
    pop = dm.populations["train"]
    assert pop.train_templates.shape == (300, 6, 20) and pop.eval_templates.shape == (300, 6, 5)
    both = np.concatenate([pop.train_templates, pop.eval_templates], axis=2)
    assert (np.sort(both, axis=2) == np.arange(25)).all()
    assert len({tuple(t) for t in pop.eval_templates[:, 0]}) > 250  # splits differ across individuals


def _sentence_templates(dm: BiographyDataModule, batch) -> list[set[tuple[int, int, int]]]:
    """For each biography: (individual, attribute, template) of every sentence, recovered from the tokens."""
    asm = dm.assembler

    def matches(b: int, start: int, expected: np.ndarray) -> bool:
        return start >= 0 and batch.tokens[b, start : start + len(expected)].tolist() == expected.tolist()

    found = []
    for b in range(len(batch.individual)):
        sentences = set()
        cursor = 1  # sentences are contiguous after <bos>
        for k in range(6):
            attr, name_start = batch.value_attr[b, k], batch.name_start[b, k]
            value_end = batch.value_start[b, k] + batch.value_len[b, k]
            candidates = []
            for t in range(25):
                g = attr * 25 + t
                head = asm.before[g, : asm.before_len[g]]
                mid = asm.between[g, : asm.between_len[g]]
                tail = asm.after[g, : asm.after_len[g]]
                if (
                    name_start - len(head) == cursor
                    and matches(b, cursor, head)
                    and matches(b, batch.value_start[b, k] - len(mid), mid)
                    and name_start + batch.name_len[b, k] + len(mid) == batch.value_start[b, k]
                    and matches(b, value_end, tail)
                ):
                    candidates.append(t)
            assert len(candidates) == 1, candidates
            g = attr * 25 + candidates[0]
            cursor = value_end + asm.after_len[g]
            sentences.add((int(batch.individual[b]), int(attr), candidates[0]))
        found.append(sentences)
    return found


def test_training_never_uses_an_evaluation_template(dm: BiographyDataModule) -> None:
    pop = dm.populations["train"]
    batch = stream(dm).batch_at(3)
    found = _sentence_templates(dm, batch)
    assert len(found) == len(batch.individual)
    for sentences in found:
        assert len(sentences) == 6  # all six found, so the checks below see every sentence
        for ind, attr, t in sentences:
            assert t in pop.train_templates[ind, attr]
            assert t not in pop.eval_templates[ind, attr]


def test_val_uses_only_evaluation_templates(dm: BiographyDataModule) -> None:
    pop = dm.populations["train"]
    rng = np.random.default_rng(0)
    batch = dm.assembler.assemble(pop, np.arange(8), rng, split="eval")
    for sentences in _sentence_templates(dm, batch):
        assert len(sentences) == 6
        for ind, attr, t in sentences:
            assert t in pop.eval_templates[ind, attr]


def test_spans_point_at_name_and_value_tokens(dm: BiographyDataModule) -> None:
    asm, pop, tok = dm.assembler, dm.populations["train"], dm.tokenizer
    r = load_resources()
    batch = stream(dm).batch_at(0)
    for b in range(len(batch.individual)):
        ind = batch.individual[b]
        first, middle, last = pop.names[ind]
        name = f"{r.first_names[first]} {r.first_names[middle]} {r.last_names[last]}"
        assert sorted(batch.value_attr[b]) == list(range(6))
        for k in range(6):
            attr = batch.value_attr[b, k]
            s, n = batch.value_start[b, k], batch.value_len[b, k]
            assert batch.tokens[b, s : s + n].tolist() == asm.value_tokens(attr, pop.values[ind, attr])
            value = r.values[ATTRIBUTES[attr]][pop.values[ind, attr]]
            # The word tokenizer spaces its punctuation ("Coca - Cola"); the subword one decodes exactly.
            assert tok.decode(batch.tokens[b, s : s + n]) == tok.decode(tok.encode(value))
            assert dm.hparams.tokenizer == "word" or tok.decode(batch.tokens[b, s : s + n]) == value
            ns, nn = batch.name_start[b, k], batch.name_len[b, k]
            assert tok.decode(batch.tokens[b, ns : ns + nn]) == name
            parts = [asm.first[first, : asm.first_len[first]], asm.first[middle, : asm.first_len[middle]]]
            parts.append(asm.last[last, : asm.last_len[last]])
            assert batch.tokens[b, ns : ns + nn].tolist() == np.concatenate(parts).tolist()
    slot = batch.value_slot()
    assert (slot >= 0).sum() == batch.value_len.sum()


def test_a_biography_decodes_to_its_text(dm: BiographyDataModule) -> None:
    """The whole sequence reads as written: sentences joined by spaces, "Zhu's", "2042." (not "Zhu' s")."""
    if dm.hparams.tokenizer == "word":
        pytest.skip('the word tokenizer spaces punctuation inside values ("Coca - Cola")')
    r, pop = load_resources(), dm.populations["train"]
    batch = stream(dm).batch_at(4)
    for b, sentences in enumerate(_sentence_templates(dm, batch)):
        template = {attr: t for _, attr, t in sentences}
        first, middle, last = pop.names[batch.individual[b]]
        name = f"{r.first_names[first]} {r.first_names[middle]} {r.last_names[last]}"
        text = []
        for attr in batch.value_attr[b]:
            value = r.values[ATTRIBUTES[attr]][pop.values[batch.individual[b], attr]]
            text.append(r.templates[ATTRIBUTES[attr]][template[attr]].format(name=name, value=value))
        assert dm.assembler.decode(batch, b) == " ".join(text)


def test_sequences_are_bos_eos_and_padded(dm: BiographyDataModule) -> None:
    batch = stream(dm).batch_at(1)
    assert (batch.tokens[:, 0] == dm.tokenizer.bos_id).all()
    rows = np.arange(len(batch.lengths))
    assert (batch.tokens[rows, batch.lengths - 1] == dm.tokenizer.eos_id).all()
    assert batch.tokens.shape[1] == batch.lengths.max() <= dm.max_seq_len
    pad = np.arange(batch.tokens.shape[1])[None, :] >= batch.lengths[:, None]
    assert (batch.tokens[pad] == dm.tokenizer.pad_id).all() and (
        batch.tokens[~pad] != dm.tokenizer.pad_id
    ).all()


def test_sentence_order_is_shuffled_and_fresh_per_sequence(dm: BiographyDataModule) -> None:
    batch = stream(dm).batch_at(2)
    orders = {tuple(o) for o in batch.value_attr}
    assert len(orders) > 8
    fixed = dm.assembler.assemble(
        dm.populations["train"], np.arange(16), np.random.default_rng(0), shuffle_sentences=False
    )
    assert (fixed.value_attr == np.arange(6)).all()


def test_same_seed_same_stream_and_other_seed_or_rank_differs(dm: BiographyDataModule) -> None:
    a, b = stream(dm).batch_at(5), stream(dm).batch_at(5)
    np.testing.assert_array_equal(a.tokens, b.tokens)
    assert not np.array_equal(stream(dm, seed=1).batch_at(5).individual, a.individual)
    assert not np.array_equal(stream(dm, rank=1).batch_at(5).individual, a.individual)
    assert not np.array_equal(stream(dm).batch_at(6).individual, a.individual)


def test_eval_sets_are_fixed_and_unseen_never_trained(dm: BiographyDataModule) -> None:
    again = BiographyDataModule(**DM_ARGS, tokenizer=dm.hparams.tokenizer)
    again.setup()
    for name in ("val", "unseen"):
        assert dm.eval_batches[name], name
        for x, y in zip(dm.eval_batches[name], again.eval_batches[name], strict=True):
            assert (x["tokens"] == y["tokens"]).all() and x["split"] == name
    unseen_names = {tuple(n) for n in dm.populations["unseen"].names}
    train = dm.populations["train"]
    for step in range(5):
        ids = stream(dm).batch_at(step).individual
        assert ids.max() < len(train)
        assert not {tuple(n) for n in train.names[ids]} & unseen_names


def test_baseline_is_mean_log_cardinality(dm: BiographyDataModule) -> None:
    expected = np.mean(np.log([201 * 12 * 31, 800, 200, 100, 500, 800]))
    assert dm.baseline_attr_loss == pytest.approx(expected)
    assert dm.baseline_attr_loss == pytest.approx(6.785, abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_individuals": -5}, "data.n_individuals"),
        ({"n_individuals": 0}, "data.n_individuals"),
        ({"n_templates_train": 21}, "data.n_templates_train + data.n_templates_eval"),
        ({"n_templates_eval": 26}, "data.n_templates_eval"),
        ({"batch_size": 0}, "data.batch_size"),
        ({"n_unseen": -1}, "data.n_unseen"),
        ({"n_individuals": 2.5}, "data.n_individuals"),
    ],
)
def test_bad_data_arguments_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises((ValueError, TypeError), match=field.replace("+", r"\+")):
        BiographyDataModule(**kwargs)
