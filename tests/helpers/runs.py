"""Where the shipped configs are and the CLI arguments of a tiny run (a real ``factdyn fit`` in seconds)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
TINY = CONFIGS / "presets" / "tiny.yaml"


def tiny_args(log_dir: Path, *extra: str, subcommand: str = "fit") -> list[str]:
    """CLI arguments for a tiny run writing under ``log_dir``."""
    return [subcommand, "--config", str(TINY), "--trainer.logger.init_args.save_dir", str(log_dir), *extra]
