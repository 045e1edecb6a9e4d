"""Every shipped YAML parses and instantiates (no training)."""

from __future__ import annotations

from pathlib import Path

import pytest

from factdyn.cli import cli_main
from tests.helpers.runs import CONFIGS, TINY

BASE_CONFIGS = sorted(p for p in CONFIGS.glob("*.yaml"))
COMPOSABLE = sorted(p for sub in ("presets", "experiments") for p in (CONFIGS / sub).glob("*.yaml"))


def all_configs() -> list[Path]:
    return sorted(CONFIGS.rglob("*.yaml"))


@pytest.mark.parametrize("path", BASE_CONFIGS, ids=lambda p: p.name)
def test_base_config_instantiates(path: Path, tmp_path: Path) -> None:
    cli = cli_main(["--config", str(path), "--trainer.logger.init_args.save_dir", str(tmp_path)], run=False)
    assert cli.model.hparams.vocab_size == cli.datamodule.vocab_size > 0
    assert cli.trainer.max_steps > 0


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
    assert cli.datamodule.sampler is not None


def test_every_config_is_covered() -> None:
    # configs/sweeps/ holds sweep files, not LightningCLI configs (test_sweep.py instantiates their runs).
    covered = set(BASE_CONFIGS) | set(COMPOSABLE)
    others = [p for p in all_configs() if p not in covered and p.parent.name not in ("toy", "sweeps")]
    assert not others, f"configs not loaded by any test: {others}"
