"""Ablation configs: model-size presets (parameter counts), template options (invariants), Fig. C sweeps."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from factdyn.analysis.report.run_info import flatten
from factdyn.cli import cli_main
from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.resources import ATTRIBUTES
from factdyn.data.stream import BiographyStream
from factdyn.model import Transformer, TransformerConfig
from factdyn.sweep import RunSpec, Sweep
from tests.conftest import CONFIGS, REPO
from tests.test_data import _sentence_templates

PRESETS = CONFIGS / "presets"
SHAPE = ("n_layer", "n_head", "d_model", "d_mlp")


def preset(name: str) -> dict:
    return yaml.safe_load((PRESETS / f"model_{name}.yaml").read_text())


def count(V: int, S: int, L: int, H: int, d: int, f: int, mixer: str) -> tuple[int, int]:
    """Closed form (non-embedding, total) parameter counts of factdyn's Transformer."""
    if mixer == "attention":
        mixing = 4 * d * d  # q, k, v, output projections, no biases
    else:
        r = H * round(4 * d / (3 * H))  # Hawk width
        # in-projections, out-projection, conv weights + bias, block-diagonal gates + biases, Λ
        mixing = 3 * d * r + 4 * r + r + 2 * (r * r // H + r) + r
    non_embedding = L * (mixing + 2 * d * f + 2 * d) + d  # + MLP + two norm gains; + final norm
    return non_embedding, non_embedding + 2 * V * d + S * d  # + token embedding, output head, positions


def nested(mapping: Any, dotted: str) -> Any:
    """``mapping["a"]["b"]`` for ``"a.b"`` (model.config.* fields live in a nested mapping)."""
    for part in dotted.split("."):
        mapping = mapping[part]
    return mapping


# --- model-size presets --------------------------------------------------------------------------------
@pytest.mark.parametrize("mixer", ["attention", "hawk"])
@pytest.mark.parametrize("name", ["quickstart", "44m", "163m", "400m"])
def test_preset_parameter_counts_match_the_closed_form(name: str, mixer: str) -> None:
    dm = BiographyDataModule(n_individuals=10, n_unseen=0)
    V, S = dm.vocab_size, dm.max_seq_len
    shape = preset(name)["model"]["config"]
    assert set(shape) == set(SHAPE), "size presets set only the model shape"
    with torch.device("meta"):  # counts without allocating 350M parameters
        model = Transformer(TransformerConfig(vocab_size=V, max_seq_len=S, sequence_mixer=mixer, **shape))
    non_embedding, total = model.get_num_params(non_embedding=True), model.get_num_params(non_embedding=False)
    print(f"{name} {mixer}: {non_embedding:,} non-embedding, {total:,} in all (vocabulary {V})")
    assert (non_embedding, total) == count(V, S, *(shape[k] for k in SHAPE), mixer)


def test_presets_have_the_papers_shapes_and_sizes() -> None:
    assert {k: preset("44m")["model"]["config"][k] for k in SHAPE} == dict(
        n_layer=8, n_head=8, d_model=512, d_mlp=2048
    )
    assert preset("163m")["model"]["config"] == dict(n_layer=12, n_head=16, d_model=896, d_mlp=4 * 896)
    assert preset("400m")["model"]["config"] == dict(n_layer=12, n_head=12, d_model=1536, d_mlp=4 * 1536)
    # The paper's labels count a 32k-token embedding: non-embedding + 32k x d lands within 12 % of them.
    for name, label in (("44m", 44e6), ("163m", 163e6), ("400m", 400e6)):
        m = preset(name)["model"]["config"]
        non_embedding, _ = count(0, 0, *(m[k] for k in SHAPE), "attention")
        assert abs(non_embedding + 32_000 * m["d_model"] - label) / label < 0.12, name


def test_quickstart_preset_is_the_quickstart_model() -> None:
    quickstart = yaml.safe_load((CONFIGS / "quickstart.yaml").read_text())["model"]["config"]
    assert preset("quickstart")["model"]["config"] == {k: quickstart[k] for k in SHAPE}, (
        "configs/quickstart.yaml changed its model shape: update configs/presets/model_quickstart.yaml"
    )


# --- template options --------------------------------------------------------------------------------
def datamodule(**kwargs) -> BiographyDataModule:
    dm = BiographyDataModule(
        n_individuals=40, n_unseen=10, batch_size=16, n_val_sequences=32, n_unseen_sequences=16, **kwargs
    )
    dm.setup()
    return dm


def train_stream(dm: BiographyDataModule) -> BiographyStream:
    return BiographyStream(
        dm.assembler, dm.populations["train"], dm.sampler, 16, 0, 0, 0, dm.hparams.shuffle_sentences
    )


@pytest.mark.parametrize("k", [1, 2, 4, 8, 16, 20])
def test_k_training_templates_only_and_never_an_evaluation_one(k: int) -> None:
    dm = datamodule(n_templates_train=k)
    pop = dm.populations["train"]
    assert pop.train_templates.shape == (40, 6, k)
    used: dict[tuple[int, int], set[int]] = {}
    for step in range(12):
        for sentences in _sentence_templates(dm, train_stream(dm).batch_at(step)):
            for ind, attr, t in sentences:
                assert t in pop.train_templates[ind, attr]
                assert t not in pop.eval_templates[ind, attr]
                used.setdefault((ind, attr), set()).add(t)
    assert max(len(ts) for ts in used.values()) <= k
    if k <= 2:  # 12 x 16 biographies over 40 people: each template of a pair shows up
        assert max(len(ts) for ts in used.values()) == k


def test_held_out_templates_and_evaluation_sets_do_not_depend_on_k() -> None:
    base = datamodule(n_templates_train=20)
    pop = base.populations["train"]
    for k in (1, 2, 4, 8, 16):
        other = datamodule(n_templates_train=k)
        assert (other.populations["train"].eval_templates == pop.eval_templates).all()
        # Training templates are nested: the k templates are the first k of the 20.
        assert (other.populations["train"].train_templates == pop.train_templates[:, :, :k]).all()
        for name in ("val", "unseen"):
            for a, b in zip(other.eval_batches[name], base.eval_batches[name], strict=True):
                assert torch.equal(a["tokens"], b["tokens"])


def test_fixed_order_writes_sentences_in_attributes_order_in_training_and_evaluation() -> None:
    dm = datamodule(n_templates_train=16, shuffle_sentences=False)
    batches = [train_stream(dm).batch_at(step) for step in range(3)]
    for batch in batches:
        assert (batch.value_attr == np.arange(len(ATTRIBUTES))).all()
        assert (np.diff(batch.value_start, axis=1) > 0).all()  # slot k is the k-th sentence read
        # The tokens really hold a template of ATTRIBUTES[k] at slot k (decoded from the tokens).
        for sentences in _sentence_templates(dm, batch):
            assert sorted(attr for _, attr, _ in sentences) == list(range(6))
    for name in ("val", "unseen"):
        for eval_batch in dm.eval_batches[name]:
            assert (eval_batch["value_attr"] == torch.arange(6)).all()
    shuffled = datamodule(n_templates_train=16)
    orders = {tuple(o.tolist()) for b in shuffled.eval_batches["val"] for o in b["value_attr"]}
    assert len(orders) > 8


# --- configs for Fig. A and Fig. C -------------------------------------------------------------------
ABLATION_CONFIGS = [
    *(f"experiments/templates_{k}.yaml" for k in (1, 2, 4, 8, 16)),
    "experiments/fixed_order.yaml",
    "experiments/mixer_hawk.yaml",
]


@pytest.mark.parametrize("name", ABLATION_CONFIGS)
def test_ablation_configs_compose_after_quickstart(name: str, tmp_path: Path) -> None:
    cli = cli_main(
        ["--config", str(CONFIGS / "quickstart.yaml"), "--config", str(CONFIGS / name)]
        + ["--trainer.logger.init_args.save_dir", str(tmp_path)],
        run=False,
    )
    settings = yaml.safe_load((CONFIGS / name).read_text())
    for section, values in settings.items():
        target = cli.datamodule if section == "data" else cli.model
        for key, value in flatten(values).items():
            assert nested(target.hparams, key) == value, (name, key)


def sweep_files() -> list[Path]:
    return sorted((CONFIGS / "sweeps").glob("fig_c_*.yaml"))


def expand(path: Path, save_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[RunSpec]:
    """The runs ``factdyn sweep`` makes of a sweep file: the real expansion, from the repository root (where
    the sweep files' config paths point, for loading and for instantiating the runs)."""
    monkeypatch.chdir(REPO)
    return Sweep.load(path, save_dir=str(save_dir)).expand()


def test_fig_c_sweeps_are_all_there() -> None:
    names = {p.stem for p in sweep_files()}
    assert names == {f"fig_c_{x}" for x in ("lr", "n", "weight_decay", "batch_size", "mixer", "size")}


@pytest.mark.parametrize("path", sweep_files(), ids=lambda p: p.name)
def test_sweep_files_are_well_formed_and_every_point_instantiates(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sweep = yaml.safe_load(path.read_text())
    assert set(sweep) == {"name", "configs", "grid", "seeds"} and sweep["name"] == path.stem
    assert sweep["seeds"] and all(isinstance(s, int) for s in sweep["seeds"])
    for key, values in sweep["grid"].items():
        width = len(key.split(","))
        assert values and all((len(v) == width) if width > 1 else not isinstance(v, list) for v in values)
    runs = expand(path, tmp_path, monkeypatch)
    points = [run.params for run in runs if run.seed == sweep["seeds"][0]]
    assert len({tuple(sorted(p.items())) for p in points}) == len(points), "duplicate grid points"
    # Every value of the file is in the expansion, and only those: the full product, once per seed.
    assert len(runs) == math.prod(len(v) for v in sweep["grid"].values()) * len(sweep["seeds"])
    for key, values in sweep["grid"].items():
        fields = key.split(",")
        expanded = {tuple(p[f] for f in fields) for p in points}
        assert expanded == {tuple(v) if len(fields) > 1 else (v,) for v in values}, (path.name, key)
    assert {run.seed for run in runs} == set(sweep["seeds"])
    for run in runs:
        cli = cli_main(run.cli_args(), run=False)
        for key, value in run.params.items():
            section, field = key.split(".", 1)
            target = {"model": cli.model.hparams, "data": cli.datamodule.hparams}.get(section)
            actual = nested(target, field) if target is not None else getattr(cli.trainer, field)
            assert actual == value, (path.name, key)


def test_batch_size_sweep_keeps_the_data_equal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = expand(CONFIGS / "sweeps" / "fig_c_batch_size.yaml", tmp_path, monkeypatch)
    points = [run.params for run in runs]
    assert len({p["data.batch_size"] * p["trainer.max_steps"] for p in points}) == 1
    assert len({p["data.batch_size"] for p in points}) == len(points) == 5
