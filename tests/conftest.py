"""Shared fixtures: tiny configurations that run a real ``factdyn fit`` in seconds on CPU."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
TINY = CONFIGS / "presets" / "tiny.yaml"

torch.set_num_threads(int(os.environ.get("FACTDYN_TEST_THREADS", "1")))


def tiny_args(log_dir: Path, *extra: str, subcommand: str = "fit") -> list[str]:
    """CLI arguments for a tiny run writing under ``log_dir``."""
    return [subcommand, "--config", str(TINY), "--trainer.logger.init_args.save_dir", str(log_dir), *extra]


@pytest.fixture
def run_tiny(tmp_path: Path):
    """Run ``factdyn fit`` on the tiny preset in-process; returns (cli, run_dir)."""
    from factdyn.cli import cli_main

    def _run(*extra: str, subcommand: str = "fit"):
        cli = cli_main(tiny_args(tmp_path / "logs", *extra, subcommand=subcommand))
        return cli, Path(cli.trainer.log_dir)

    return _run
