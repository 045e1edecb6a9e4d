"""``load_run`` and ``factdyn ask``: a checkpoint's own population, greedy answers checked against models
whose answers are known, attention of one biography, one-line errors for unknown names and attributes."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from factdyn.checks import UserError
from factdyn.cli import main
from factdyn.data import BiographyDataModule
from factdyn.data.resources import ATTRIBUTES, load_resources
from factdyn.inspection import load_run
from factdyn.inspection.answers import answer_prompts
from factdyn.inspection.people import People
from factdyn.inspection.prompts import Prompt, PromptBuilder
from factdyn.inspection.values import ValueVocabulary
from factdyn.training.module import FactLearner
from tests.helpers.programs import run_program

CPU = torch.device("cpu")
SURE = 20.0
"""The logit a bigram model gives its next token (the others get 0)."""


class Bigram(nn.Module):
    """A language model whose next token depends on the current one only: ``follows[t]`` after ``t``."""

    def __init__(self, vocab_size: int, follows: dict[int, int], max_seq_len: int = 512) -> None:
        super().__init__()
        self.config = SimpleNamespace(max_seq_len=max_seq_len)
        table = torch.zeros(vocab_size, vocab_size)
        for token, following in follows.items():
            table[token, following] = SURE
        self.register_buffer("table", table)

    def hidden(self, idx: torch.Tensor) -> torch.Tensor:
        return self.table[idx]

    def lm_head(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.hidden(idx))


@pytest.fixture(scope="module")
def small() -> SimpleNamespace:
    """Prompts and values of a small population (no model)."""
    dm = BiographyDataModule(n_individuals=20, n_unseen=4, n_val_sequences=4, n_unseen_sequences=4)
    dm.setup()
    resources = load_resources()
    return SimpleNamespace(
        dm=dm,
        people=People(resources, dm.populations),
        prompts=PromptBuilder(dm.assembler, resources, dm.populations, shuffle_sentences=True),
        values=ValueVocabulary(dm.assembler, resources),
    )


def spelling(prompt: Prompt, tokens: tuple[int, ...], vocab_size: int, then: int | None = None) -> Bigram:
    """A bigram model that writes ``tokens`` after ``prompt`` (then ``then``, if given)."""
    chain = [prompt.tokens[-1], *tokens] + ([then] if then is not None else [])
    assert len(set(chain)) == len(chain), "the chain must not loop"
    return Bigram(vocab_size, dict(zip(chain, chain[1:], strict=False)))


def p_sure(vocab_size: int) -> float:
    return math.exp(SURE) / (math.exp(SURE) + vocab_size - 1)


def a_prompt(small: SimpleNamespace, attribute: str, length: int) -> Prompt:
    """The first training individual's prompt for ``attribute`` whose true value has ``length`` tokens."""
    for i in range(20):
        prompt = small.prompts.prompt(small.people.at("train", i), attribute)
        chain = [prompt.tokens[-1], *prompt.truth]
        if len(prompt.truth) == length and len(set(chain)) == len(chain):
            return prompt
    raise AssertionError(f"no {attribute} value of {length} tokens")


def test_a_model_that_knows_the_value_answers_it(small: SimpleNamespace) -> None:
    V = small.dm.vocab_size
    prompt = a_prompt(small, "university", 3)
    going_on = small.dm.tokenizer.encode("Nielsen")[0]
    model = spelling(prompt, prompt.truth, V, then=going_on)
    (answer,) = answer_prompts(model, [prompt], small.values, CPU)
    assert answer.correct and answer.is_value and answer.answer == answer.truth == prompt.truth_text
    # The answer ends with the value: what the model would write next is not part of it.
    assert answer.p_answer == pytest.approx(p_sure(V) ** 3, rel=1e-6)
    assert answer.p_truth == pytest.approx(answer.p_answer, rel=1e-6)
    assert answer.prompt == prompt.text and prompt.text.endswith(("is", "at", "from", "of", "in", "attended"))


def test_another_value_is_answered_in_its_exact_spelling(small: SimpleNamespace) -> None:
    V = small.dm.vocab_size
    prompt = a_prompt(small, "company", 2)
    tokenizer = small.dm.tokenizer
    other = tuple(tokenizer.encode("Coca-Cola"))  # three tokens: Coca - Cola
    (answer,) = answer_prompts(spelling(prompt, other, V), [prompt], small.values, CPU)
    assert answer.answer == "Coca-Cola" and answer.is_value and not answer.correct
    assert answer.p_truth < 1e-6


def test_the_template_s_next_token_ends_an_answer_that_is_no_value(small: SimpleNamespace) -> None:
    V = small.dm.vocab_size
    prompt = a_prompt(small, "major", 1)
    name_token = small.dm.tokenizer.encode("Nielsen")[0]  # a last name: starts no major
    model = spelling(prompt, (name_token,), V, then=prompt.stop)
    (answer,) = answer_prompts(model, [prompt], small.values, CPU)
    assert answer.answer == "Nielsen" and not answer.is_value and not answer.correct
    assert answer.p_answer == pytest.approx(p_sure(V), rel=1e-6)


def test_an_answer_stops_at_the_longest_value(small: SimpleNamespace) -> None:
    V = small.dm.vocab_size
    prompt = a_prompt(small, "major", 1)
    words = small.dm.tokenizer.encode("Nielsen Jensen Larsen Olsen Pedersen Hansen")
    (answer,) = answer_prompts(spelling(prompt, tuple(words), V), [prompt], small.values, CPU)
    longest = small.values.of("major").longest
    assert answer.answer == " ".join("Nielsen Jensen Larsen Olsen Pedersen Hansen".split()[:longest])


@pytest.fixture(scope="module")
def run(trained_tiny_run: Path):
    return load_run(trained_tiny_run, "cpu")


def test_load_run_takes_model_and_population_from_the_checkpoint(trained_tiny_run: Path, run) -> None:
    assert run.checkpoint == trained_tiny_run / "checkpoints" / "last.ckpt"
    assert run.step == 8 and run.run_dir == trained_tiny_run.resolve()
    assert {k: len(p) for k, p in run.populations.items()} == {"train": 64, "unseen": 16}
    learner = FactLearner.load_from_checkpoint(run.checkpoint, map_location="cpu")
    for ours, theirs in zip(
        run.model.state_dict().values(), learner.model.state_dict().values(), strict=True
    ):
        assert torch.equal(ours, theirs)
    # The populations are those of the run's validation: its evaluation batches are the same tokens.
    fit = BiographyDataModule(n_individuals=64, n_unseen=16, n_val_sequences=16, n_unseen_sequences=16)
    fit.setup()
    assert torch.equal(run.datamodule.eval_batches["val"][0]["tokens"], fit.eval_batches["val"][0]["tokens"])
    step4 = load_run(trained_tiny_run / "checkpoints" / "step=00000004.ckpt", "cpu")
    assert step4.step == 4 and step4.run_dir == trained_tiny_run.resolve()


def test_an_empty_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^.*: a checkpoint file, or a run directory holding .*last.ckpt"):
        load_run(tmp_path)


def test_batched_answers_equal_one_at_a_time(run) -> None:
    prompts = [run.prompt(i, a) for i in (0, 5, 9) for a in ATTRIBUTES]
    prompts += [run.prompt(0, "company", population="unseen", templates="training", template=3)]
    together = run.answers(prompts, batch_size=64)
    alone = [run.answers([p])[0] for p in prompts]
    for a, b in zip(together, alone, strict=True):
        assert a.answer == b.answer and a.correct == b.correct
        assert a.p_answer == pytest.approx(b.p_answer, rel=1e-4)
        assert a.p_truth == pytest.approx(b.p_truth, rel=1e-4)


def test_p_truth_is_the_teacher_forced_probability_of_the_value(run) -> None:
    prompt = run.prompt(2, "birth_place")
    tokens = torch.tensor([prompt.tokens + prompt.truth])
    with torch.no_grad():
        logp = torch.log_softmax(run.model(tokens[:, :-1]), dim=-1)[0]
    n = len(prompt.tokens)
    expected = sum(float(logp[n - 1 + k, t]) for k, t in enumerate(prompt.truth))
    assert run.answers([prompt])[0].p_truth == pytest.approx(math.exp(expected), rel=1e-4)


def test_ask_names_population_template_and_truth(run) -> None:
    person = run.person(7)
    answer = run.ask(person.name, "major")
    facts = run.facts(7)
    assert (answer.name, answer.population, answer.individual) == (person.name, "train", 7)
    assert answer.truth == facts["major"] and answer.templates == "heldout"
    heldout = run.populations["train"].eval_templates[7, ATTRIBUTES.index("major")]
    assert answer.template == heldout[0]
    template = load_resources().templates["major"][answer.template]
    assert answer.prompt == template.replace("{name}", person.name).split("{value}")[0].rstrip()
    assert [a.attribute for a in run.ask_all(person.name)] == list(ATTRIBUTES)
    unseen = run.person(3, "unseen")
    assert run.ask(unseen.name, "company").population == "unseen"


def test_biographies_hold_the_true_values(run) -> None:
    batch = run.biographies([run.person(4).name, 11])
    for row, index in enumerate((4, 11)):
        text = run.text(batch, row)
        assert text.count(run.person(index).name) == 6
        assert all(value in text for value in run.facts(index).values())


def test_attention_of_one_biography(run) -> None:
    record = run.attention(4)
    T = len(record.tokens)
    assert record.tokens[0] == "<bos>" and len(record.patterns) == run.model.config.n_layer
    for pattern in record.patterns:
        assert pattern.shape == (run.model.config.n_head, T, T)
        assert torch.allclose(pattern.sum(-1), torch.ones(run.model.config.n_head, T), atol=1e-5)
        assert float(pattern.triu(1).abs().max()) == 0.0  # causal
    name_words = run.person(4).name.split()
    named = [w for w, is_name in zip(record.tokens, record.roles["name"].tolist(), strict=True) if is_name]
    assert named == name_words * 6
    assert set(record.statistics) == {"name_to_name", "attr_to_name", "attr_to_text", "entropy"}
    assert all(len(v) == run.model.config.n_layer for v in record.statistics.values())


def ask(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    return run_program(capsys, "ask", *args)


def test_factdyn_ask_prints_answer_probability_and_truth(trained_tiny_run: Path, run, capsys) -> None:
    name, facts = run.person(3).name, run.facts(3)
    code, out, _ = ask(capsys, str(trained_tiny_run), name)
    assert code == 0 and out.startswith(f"{name}: train individual 3; checkpoint step 8")
    rows = out.splitlines()[2:]
    assert [r.split()[0] for r in rows] == list(ATTRIBUTES)
    assert all(facts[a] in row for a, row in zip(ATTRIBUTES, rows, strict=True))
    code, out, _ = ask(capsys, str(run.checkpoint), *name.split(), "major", "--prompts")
    assert code == 0 and len(out.splitlines()) == 4 and "prompt: " in out.splitlines()[3]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (
            lambda name: [name[1:]],
            "name: the full name of an individual of this run (64 train, 16 unseen; closest:",
        ),
        (lambda name: [name, "birthplace"], "(did you mean 'birth_place'?), got 'birthplace'"),
        (lambda name: [name.split()[0]], "NAME [ATTRIBUTE]: a full name of 3 words"),
    ],
)
def test_unknown_names_and_attributes_are_one_line(
    trained_tiny_run: Path, run, capsys, words, expected
) -> None:
    name = run.person(3).name
    code, out, err = ask(capsys, str(trained_tiny_run), *words(name))
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and expected in err, err
    if "closest" in expected:
        assert repr(name) in err


def test_help_lists_every_program(capsys) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    for program in ("fit", "toy", "sweep", "report", "archive", "evidence", "predict", "ask", "export"):
        assert f"factdyn {program} " in out, program
    assert "Run inference" not in out  # Lightning's predict, which had no data to predict on
