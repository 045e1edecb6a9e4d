"""TensorBoard shows the paper: the custom-scalars layout, the HPARAMS tab, no constant ``epoch`` chart, the
learning rate, and an attention figure with one colour scale per quantity. The end-to-end test reads a
tiny run back through a real TensorBoard server's HTTP API."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from lightning.pytorch.loggers import TensorBoardLogger

from factdyn.callbacks.attention_statistics import heatmap_figure
from factdyn.callbacks.tensorboard_hparams import TensorBoardHparams, final_metrics
from factdyn.callbacks.tensorboard_layout import paper_layout
from factdyn.data.samplers import Celebrities
from tests.helpers.fake_trainer import FakeTrainer
from tests.helpers.tensorboard_server import tensorboard_server

LOSS = "attribute loss (paper Fig. 2, 5)"
OVERLAY = "held-out, unseen and no-knowledge baseline (nats per value)"
ATTENTION = "attention circuits (paper Fig. 3, F)"
STATISTICS = [
    "--trainer.callbacks+=factdyn.callbacks.AttentionStatistics",
    "--trainer.callbacks.n_sequences=8",
]
ZIPF = ["--data.sampler", "Zipf", "--data.sampler.alpha", "0.6", "--data.sampler.n_buckets", "2"]


def test_the_layout_holds_only_charts_of_logged_tags() -> None:
    tags = {"val/attr_loss", "baseline/attr_loss", "train/lr", "exposures/mean"}
    assert paper_layout(tags, {"val": "val", "unseen": "unseen"}) == {
        LOSS: {
            OVERLAY: ["val/attr_loss", "baseline/attr_loss"],
            "training vs held-out templates (nats per value)": ["val/attr_loss"],
        },
        "exposures per individual": {"exposures (count)": ["exposures/mean"]},
        "training": {"learning rate": ["train/lr"]},
    }


def test_a_fine_tuning_run_gets_its_own_prefixes_in_layout_and_metrics() -> None:
    prefixes = {"val": "ft_old", "unseen": "unseen", "new": "ft_new"}
    tags = {f"{p}/{m}" for p in prefixes.values() for m in ("attr_loss", "attr_acc")} | {"baseline/attr_loss"}
    charts = paper_layout(tags, prefixes)
    assert charts[LOSS][OVERLAY] == [
        "ft_old/attr_loss",
        "unseen/attr_loss",
        "ft_new/attr_loss",
        "baseline/attr_loss",
    ]
    assert charts["accuracy and confidence"]["attribute accuracy"] == [
        "ft_old/attr_acc",
        "unseen/attr_acc",
        "ft_new/attr_acc",
    ]
    metrics = final_metrics(tags, prefixes, phases=False)
    assert list(metrics) == [
        "ft_old/attr_loss",
        "ft_old/attr_acc",
        "unseen/attr_loss",
        "ft_new/attr_loss",
        "ft_new/attr_acc",
    ]


@pytest.mark.parametrize("default_hp_metric", [False, True])
def test_lightnings_placeholder_hp_metric_is_warned_about(tmp_path: Path, default_hp_metric: bool) -> None:
    """With ``default_hp_metric`` on, Lightning writes an hparams record of its own: the run says so."""
    logger = TensorBoardLogger(tmp_path, name="run", default_hp_metric=default_hp_metric)
    data = SimpleNamespace(hparams={"seed": 3}, sampler=Celebrities(5, 2.0), eval_set_names=lambda: ["val"])
    trainer = FakeTrainer(datamodule=data)
    trainer.__dict__.update(loggers=[logger], callbacks=[], max_steps=8, is_global_zero=True)
    module = SimpleNamespace(hparams={"lr": 0.01}, metric_names=lambda sets: ["val/attr_loss"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TensorBoardHparams().on_fit_start(trainer, module)
    assert any("default_hp_metric" in str(w.message) for w in caught) == default_hp_metric
    assert logger.hparams == {
        "max_steps": 8,
        "sampler": {
            "class_path": "factdyn.data.samplers.frequency.Celebrities",
            "init_args": {"n_celebrities": 5, "weight": 2.0},
        },
    }


def test_attention_figure_gives_shares_and_entropy_separate_colour_scales() -> None:
    from matplotlib.figure import Figure

    stats = {
        "name_to_name": [0.1, 0.2, 0.3],
        "attr_to_name": [0.4, 0.5, 0.6],
        "attr_to_text": [0.7, 0.8, 0.9],
        "entropy": [0.95, 0.85, 0.75],
    }
    figure = heatmap_figure(Figure, stats, step=12)
    images = [ax.images[0] for ax in figure.axes if ax.images]
    assert [np.asarray(image.get_array()).shape for image in images] == [(3, 3), (3, 1)]
    np.testing.assert_allclose(np.asarray(images[1].get_array())[:, 0], stats["entropy"])
    assert images[0].colorbar is not images[1].colorbar
    labels = [image.colorbar.ax.get_ylabel() for image in images]
    assert labels == ["share of attention", "entropy / log t"]


def test_tensorboard_serves_the_layout_and_hparams_of_a_run(run_tiny) -> None:
    """A tiny Zipf run with attention statistics, read through a TensorBoard server on 127.0.0.1."""
    _, run_dir = run_tiny(*ZIPF, *STATISTICS)
    final = json.loads((run_dir / "summary.json").read_text())["final"]
    with tensorboard_server(run_dir.parent) as tb:
        tags = set(tb.get("/data/plugin/scalars/tags")[run_dir.name])
        assert "train/lr" in tags and "epoch" not in tags

        layout = tb.get("/data/plugin/custom_scalars/layout")
        charts = {
            category["title"]: {chart["title"]: chart["multiline"]["tag"] for chart in category["chart"]}
            for category in layout["category"]
        }
        assert charts[LOSS][OVERLAY] == ["^val/attr_loss$", "^unseen/attr_loss$", "^baseline/attr_loss$"]
        assert charts[ATTENTION]["layer 1: share of attention"] == [
            f"^attn/{m}/layer_1$" for m in ("name_to_name", "attr_to_name", "attr_to_text")
        ]
        assert charts["held-out, by frequency bucket (paper Fig. 4)"]["attribute accuracy"] == [
            "^val/attr_acc/bucket_0$",
            "^val/attr_acc/bucket_1$",
        ]
        assert charts["training"]["learning rate"] == ["^train/lr$"]
        for category in charts.values():  # every line of every chart has points to draw
            for regexes in category.values():
                assert all(any(re.fullmatch(r, t) for t in tags) for r in regexes), regexes

        experiment = tb.get("/data/plugin/hparams/experiment", {"experimentName": ""})
        columns = {info["name"]: info["type"] for info in experiment["hparamInfos"]}
        assert columns["data.sampler"] == "DATA_TYPE_STRING"
        assert columns["data.shuffle_sentences"] == "DATA_TYPE_BOOL"
        for name in ("data.sampler.alpha", "data.sampler.n_celebrities", "trainer.max_steps", "model.lr"):
            assert columns[name] == "DATA_TYPE_FLOAT64", name
        metrics = [info["name"]["tag"] for info in experiment["metricInfos"]]
        assert metrics == [
            "train/loss",
            "val/attr_loss",
            "val/attr_acc",
            "unseen/attr_loss",
            "phase/plateau_end_step",
        ]

        request = {
            "experimentName": "",
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
            "colParams": [{"metric": info["name"]} for info in experiment["metricInfos"]],
            "startIndex": 0,
            "sliceSize": 10,
        }
        (group,) = tb.get("/data/plugin/hparams/session_groups", request)["sessionGroups"]
    hparams = group["hparams"]
    assert hparams["data.sampler"] == "Zipf" and hparams["data.sampler.alpha"] == 0.6
    assert "data.sampler.permutation_seed" not in hparams  # unset (the data seed): no value to show
    assert hparams["data.n_individuals"] == 64 and hparams["data.batch_size"] == 8
    assert hparams["trainer.max_steps"] == 8 and hparams["seed_everything"] == 0
    assert hparams["model.lr"] == 1e-3 and hparams["model.config.d_model"] == 16
    (session,) = group["sessions"]
    assert session["name"] == run_dir.name and session["status"] == "STATUS_SUCCESS"
    values = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
    for tag in ("val/attr_loss", "val/attr_acc", "unseen/attr_loss"):
        assert values[tag] == pytest.approx(final[tag]), tag

    recorded = yaml.safe_load((run_dir / "hparams.yaml").read_text())
    assert recorded["max_steps"] == 8
    assert recorded["sampler"] == {
        "class_path": "factdyn.data.samplers.frequency.Zipf",
        "init_args": {"alpha": 0.6, "permutation_seed": None, "n_buckets": 2},
    }
