"""Every shipped YAML parses and instantiates (no training) with the sampler it names."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from factdyn.cli import cli_main
from factdyn.data import Uniform
from tests.helpers.runs import CONFIGS, TINY

BASE_CONFIGS = sorted(p for p in CONFIGS.glob("*.yaml"))
COMPOSABLE = sorted(p for sub in ("presets", "experiments") for p in (CONFIGS / sub).glob("*.yaml"))


def all_configs() -> list[Path]:
    return sorted(CONFIGS.rglob("*.yaml"))


def named_sampler(*paths: Path) -> tuple[type, dict[str, Any]]:
    """The sampler class and init_args the configs name (the last one naming it wins), else ``Uniform``."""
    found: tuple[type, dict[str, Any]] = (Uniform, {})
    for path in paths:
        spec = (yaml.safe_load(path.read_text()) or {}).get("data", {}).get("sampler")
        if spec is not None:
            module, _, name = spec["class_path"].rpartition(".")
            found = (getattr(importlib.import_module(module), name), spec.get("init_args") or {})
    return found


def assert_sampler_is_the_named_one(sampler: Any, *paths: Path) -> None:
    cls, init_args = named_sampler(*paths)
    assert type(sampler) is cls, f"{type(sampler).__name__} != {cls.__name__} named by {paths[-1].name}"
    for key, value in init_args.items():
        if value is not None:  # null means "derived later" (e.g. steps_per_group from max_steps)
            assert getattr(sampler, key) == value, key


def named_model_config(*paths: Path) -> dict[str, Any]:
    """The ``model.config`` fields the configs set (a later file wins)."""
    found: dict[str, Any] = {}
    for path in paths:
        found |= ((yaml.safe_load(path.read_text()) or {}).get("model") or {}).get("config") or {}
    return found


@pytest.mark.parametrize("path", BASE_CONFIGS, ids=lambda p: p.name)
def test_base_config_instantiates(path: Path, tmp_path: Path) -> None:
    cli = cli_main(["--config", str(path), "--trainer.logger.init_args.save_dir", str(tmp_path)], run=False)
    assert cli.model.hparams.config["vocab_size"] == cli.datamodule.vocab_size > 0
    assert cli.trainer.max_steps > 0
    assert_sampler_is_the_named_one(cli.datamodule.sampler, path)


# Building the 163M and 400M presets (normal init of 120M-350M parameters) takes 10-25 s on one core.
BIG_PRESETS = ("model_163m.yaml", "model_400m.yaml")


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=pytest.mark.slow) if p.name in BIG_PRESETS else p for p in COMPOSABLE],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_composable_config_instantiates_on_top_of_tiny(path: Path, tmp_path: Path) -> None:
    cli = cli_main(
        ["--config", str(TINY), "--config", str(path), "--trainer.logger.init_args.save_dir", str(tmp_path)],
        run=False,
    )
    assert_sampler_is_the_named_one(cli.datamodule.sampler, TINY, path)
    for key, value in named_model_config(TINY, path).items():
        assert getattr(cli.model.config, key) == value, f"model.config.{key} of {path.name}"


def test_named_sampler_reads_the_yaml() -> None:
    """The expectation above is read from the files, not assumed: a shipped config does name a sampler."""
    from factdyn.data import Zipf

    assert named_sampler(TINY) == (Uniform, {})
    assert named_sampler(TINY, CONFIGS / "experiments" / "zipf.yaml") == (Zipf, {"alpha": 0.6})
    assert named_model_config(TINY, CONFIGS / "experiments" / "rotary.yaml")["positions"] == "rotary"


def test_every_config_is_covered() -> None:
    """Every YAML under configs/ is a parameter of some loading test (the lists those tests iterate over)."""
    # Sweep files are loaded and expanded by factdyn.sweep (test_sweep.py instantiates every run), toy
    # configs by the toy CLI (test_toy.py).
    from tests.test_sweep import SWEEPS
    from tests.test_toy import TOY_CONFIGS

    groups = {"base": BASE_CONFIGS, "composable": COMPOSABLE, "sweeps": SWEEPS, "toy": TOY_CONFIGS}
    assert all(groups.values()), {name: len(paths) for name, paths in groups.items()}
    covered = {p for paths in groups.values() for p in paths}
    others = [p for p in all_configs() if p not in covered]
    assert not others, f"configs not loaded by any test: {others}"
