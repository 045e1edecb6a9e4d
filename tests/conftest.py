"""Shared fixtures (helpers live in ``tests.helpers``) and the test processes' torch thread count."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Re-exported for the test files that still import them from here (test_ablations.py, test_sweep.py).
from tests.helpers.runs import CONFIGS, REPO, TINY, tiny_args

__all__ = ["CONFIGS", "REPO", "TINY", "run_tiny", "trained_tiny_run"]

torch.set_num_threads(int(os.environ.get("FACTDYN_TEST_THREADS", "1")))


@pytest.fixture
def run_tiny(tmp_path: Path):
    """Run ``factdyn fit`` on the tiny preset in-process; returns (cli, run_dir)."""
    from factdyn.cli import cli_main

    def _run(*extra: str, subcommand: str = "fit"):
        cli = cli_main(tiny_args(tmp_path / "logs", *extra, subcommand=subcommand))
        return cli, Path(cli.trainer.log_dir)

    return _run


@pytest.fixture(scope="session")
def trained_tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished tiny run (8 steps) for the tests that read its checkpoints (``factdyn ask`` ...)."""
    from factdyn.cli import cli_main

    logs = tmp_path_factory.mktemp("trained_tiny") / "logs"
    return Path(cli_main(tiny_args(logs)).trainer.log_dir)
