"""The subword tokenizer (``data.tokenizer subword``): deterministic training, fingerprints, prefix-free
values, pickling, bad sizes, and tiny CLI runs whose checkpoints are refused under the word tokenizer."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from factdyn.checks import ConfigError
from factdyn.cli import cli_main
from factdyn.data.biography import BiographyAssembler, segment_texts
from factdyn.data.corpus import corpus
from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.population import no_knowledge_baseline
from factdyn.data.resources import ATTRIBUTES, RESOURCE_DIR, load_resources
from factdyn.data.subword import VOCAB_SIZE, SubwordTokenizer
from factdyn.data.tokenizer import prefix_conflicts
from factdyn.data.tokenizer_stats import main
from factdyn.training.pretrained import load_pretrained, mismatches
from tests.helpers.runs import REPO, tiny_args
from tests.helpers.tables import tables_digest

DIGEST_SCRIPT = """
from factdyn.data.corpus import corpus
from tests.helpers.tables import tables_digest
tokenizer, assembler = corpus("subword")
print(tokenizer.fingerprint, tables_digest(assembler))
"""


def test_training_twice_gives_the_same_pieces_and_ids() -> None:
    resources = load_resources()
    cached, assembler = corpus("subword")
    again = SubwordTokenizer.train(segment_texts(resources), VOCAB_SIZE)
    assert isinstance(cached, SubwordTokenizer)
    assert again.pieces(range(len(again))) == cached.pieces(range(len(cached)))
    assert again.fingerprint == cached.fingerprint
    assert tables_digest(BiographyAssembler(resources, again)) == tables_digest(assembler)


def test_another_process_trains_the_same_vocabulary() -> None:
    tokenizer, assembler = corpus("subword")
    out = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [tokenizer.fingerprint, tables_digest(assembler)]


def test_the_fingerprint_changes_with_the_kind_and_the_size() -> None:
    word, _ = corpus("word")
    default, _ = corpus("subword")
    smaller, _ = corpus("subword", 2048)
    assert (word.vocab_size, default.vocab_size, smaller.vocab_size) == (4017, VOCAB_SIZE, 2048)
    assert len({word.fingerprint, default.fingerprint, smaller.fingerprint}) == 3
    # The word tokenizer ignores the subword size: its data, and old checkpoints, stay as they were.
    assert corpus("word", 2048)[0] is word


def test_the_baseline_is_defined_over_values_not_tokens() -> None:
    word = BiographyDataModule(n_individuals=50, n_unseen=0)
    subword = BiographyDataModule(n_individuals=50, n_unseen=0, tokenizer="subword")
    assert subword.attribute_cardinalities == word.attribute_cardinalities
    assert subword.baseline_attr_loss == word.baseline_attr_loss
    assert subword.baseline_attr_loss == pytest.approx(no_knowledge_baseline(word.attribute_cardinalities))
    assert subword.vocab_size == VOCAB_SIZE and subword.max_seq_len > word.max_seq_len


def test_names_and_values_span_several_pieces() -> None:
    """What the subword tokenizer is for: a full name is no longer three tokens (reports/tokenizer)."""
    _, assembler = corpus("subword")
    assert 1.5 < assembler.first_len.mean() < 2.5 and 1.5 < assembler.last_len.mean() < 2.5
    assert (assembler.first_len == 1).any() and (assembler.last_len >= 3).any()


def test_prefix_conflicts_finds_prefixes_and_equal_sequences() -> None:
    assert prefix_conflicts([[1, 2, 3], [4], [1, 2], [5, 6]]) == [(2, 0)]
    assert prefix_conflicts([[7, 8], [9], [7, 8]]) in ([(0, 2)], [(2, 0)])
    assert prefix_conflicts([[1, 2], [1, 3], [2]]) == []


def test_a_value_that_another_continues_is_split_and_still_decodes() -> None:
    """ "Intuit" is one BPE piece that "Intuitive Surgical" starts with; its last piece is split."""
    tokenizer, assembler = corpus("subword")
    companies = load_resources().values["company"]
    k = ATTRIBUTES.index("company")
    short = assembler.value_tokens(k, companies.index("Intuit"))
    long = assembler.value_tokens(k, companies.index("Intuitive Surgical"))
    assert tokenizer.encode(" Intuit") == long[:1]  # plain BPE would make it a prefix
    assert short != long[: len(short)] and len(short) == 2
    assert tokenizer.decode(short) == "Intuit" and tokenizer.decode(long) == "Intuitive Surgical"


def test_split_piece_spells_the_piece() -> None:
    tokenizer, _ = corpus("subword")
    for piece in ("▁University", "▁Shanghai", "▁March"):
        left, right = tokenizer.split_piece(tokenizer.processor.piece_to_id(piece))
        assert "".join(tokenizer.pieces([left, right])) == piece
    with pytest.raises(ValueError, match="cannot be split"):
        tokenizer.split_piece(tokenizer.processor.piece_to_id("a"))


def test_a_pickled_tokenizer_is_the_same_tokenizer() -> None:
    """DataLoader workers started by spawn receive the tokenizer pickled."""
    tokenizer, _ = corpus("subword")
    copy = pickle.loads(pickle.dumps(tokenizer))
    assert copy.fingerprint == tokenizer.fingerprint
    text = " Nielsen's birthplace is Shanghai."
    assert copy.encode(text) == tokenizer.encode(text) and copy.decode(copy.encode(text)) == text.strip()


@pytest.mark.parametrize(
    ("size", "allowed"),
    [(40, "an integer >= 72"), (10**6, "an integer in [72, "), (True, ">= 72"), (512.5, ">= 72")],
)
def test_a_bad_vocabulary_size_names_the_field(size: object, allowed: str) -> None:
    with pytest.raises(ConfigError, match=r"^data\.subword_vocab_size: ") as err:
        SubwordTokenizer.train(segment_texts(load_resources()), size)  # type: ignore[arg-type]
    assert allowed in str(err.value) and "\n" not in str(err.value)


def test_an_unknown_tokenizer_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"^data\.tokenizer: one of 'word', 'subword', got 'bpe'$"):
        BiographyDataModule(n_individuals=10, tokenizer="bpe")


def test_a_template_that_glues_the_value_to_a_word_is_refused(tmp_path: Path) -> None:
    """Values are encoded after a space: a template without one would decode as it is not written."""
    root = tmp_path / "resources"
    shutil.copytree(RESOURCE_DIR, root)
    path = root / "templates" / "major.txt"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(["{name} majored in:{value}.", *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match=r"a space before \{value\}: '\{name\} majored in:\{value\}\.'"):
        load_resources(str(root))


@pytest.fixture(scope="module")
def subword_run(tmp_path_factory) -> Path:
    """A tiny ``factdyn fit --data.tokenizer subword`` run (8 steps)."""
    logs = tmp_path_factory.mktemp("subword_run") / "logs"
    return Path(cli_main(tiny_args(logs, "--data.tokenizer", "subword")).trainer.log_dir)


def test_a_tiny_subword_run_trains_and_records_its_tokenizer(subword_run: Path) -> None:
    tokenizer, _ = corpus("subword")
    ckpt = torch.load(subword_run / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["hyper_parameters"]["config"]["vocab_size"] == VOCAB_SIZE
    assert ckpt["hyper_parameters"]["tokenizer_fingerprint"] == tokenizer.fingerprint
    assert ckpt["datamodule_hyper_parameters"]["tokenizer"] == "subword"
    final = json.loads((subword_run / "summary.json").read_text())["final"]
    assert np.isfinite(final["val/attr_loss"]) and np.isfinite(final["train/loss"])


def test_a_subword_checkpoint_is_refused_by_a_word_model(subword_run: Path, tmp_path: Path) -> None:
    """As ``model.init_checkpoint`` (and, through the same comparison, as a patching reference)."""
    ckpt = subword_run / "checkpoints" / "last.ckpt"
    with pytest.raises(ConfigError, match=r"^model\.init_checkpoint: a checkpoint that matches") as err:
        cli_main(tiny_args(tmp_path / "logs", "--model.init_checkpoint", str(ckpt)))
    assert "tokenizer_fingerprint: checkpoint" in str(err.value) and "vocab_size: checkpoint 5120" in str(
        err.value
    )
    word, _ = corpus("word")
    source = load_pretrained(ckpt)
    found = mismatches(source, source.model.config, word.fingerprint)
    assert found == [f"tokenizer_fingerprint: checkpoint {corpus('subword')[0].fingerprint!r} != model "
                     f"{word.fingerprint!r}"]  # fmt: skip


def test_evaluating_a_subword_checkpoint_uses_its_tokenizer(subword_run: Path, tmp_path: Path) -> None:
    ckpt = str(subword_run / "checkpoints" / "last.ckpt")
    logs = ["--trainer.logger.init_args.save_dir", str(tmp_path), "--trainer.enable_progress_bar", "false"]
    cli = cli_main(["validate", "--ckpt_path", ckpt, *logs])
    assert cli.datamodule.hparams.tokenizer == "subword"
    final = json.loads((subword_run / "summary.json").read_text())["final"]
    assert float(cli.trainer.callback_metrics["val/attr_loss"]) == pytest.approx(
        final["val/attr_loss"], abs=1e-5
    )
    with pytest.raises(ConfigError, match=r"^data\.tokenizer: 'subword' as in the checkpoint"):
        cli_main(["validate", "--ckpt_path", ckpt, *logs, "--data.tokenizer", "word"])


def test_the_stats_report_counts_what_biographies_insert(capsys) -> None:
    """``python -m factdyn.data.tokenizer_stats`` (reports/tokenizer/pieces.txt), without its sweeps."""
    main(["--sweep", "", "--weights", ""])
    out = capsys.readouterr().out
    word, subword = out.split("data.tokenizer subword")
    assert "  full name                3.00      3    3     0.0   0.0 100.0" in word
    _, assembler = corpus("subword")
    mean = 2 * assembler.first_len.mean() + assembler.last_len.mean()
    assert f"  full name                {mean:.2f}" in subword
    assert "company 'Intuit': ▁Int uit (plain BPE: ▁Intuit)" in subword


def test_asking_and_exporting_a_subword_run(subword_run: Path, capsys) -> None:
    """``load_run``, ``factdyn ask``, attention labels and ``factdyn export`` read the run's own tokenizer."""
    from factdyn.inspection import load_run
    from tests.helpers.programs import run_program

    run = load_run(subword_run, "cpu")
    tokenizer, _ = corpus("subword")
    assert run.tokenizer.fingerprint == tokenizer.fingerprint
    name, facts = run.person(2).name, run.facts(2)
    code, out, _ = run_program(capsys, "ask", str(subword_run), name)
    rows = out.splitlines()[2:]
    assert code == 0 and [r.split()[0] for r in rows] == list(ATTRIBUTES)
    assert all(facts[a] in row for a, row in zip(ATTRIBUTES, rows, strict=True))
    record = run.attention(2)
    named = [p for p, is_name in zip(record.tokens, record.roles["name"].tolist(), strict=True) if is_name]
    assert "".join(named).replace("\u2581", " ").split() == name.split() * 6  # pieces, not decoded words
    out_dir = subword_run / "tl"
    code, _, _ = run_program(capsys, "export", str(subword_run), "--to", "transformer-lens", str(out_dir))
    vocabulary = json.loads((out_dir / "vocab.json").read_text())
    assert code == 0 and len(vocabulary) == VOCAB_SIZE and "\u2581J" in str(vocabulary)
