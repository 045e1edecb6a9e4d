"""The configs shipped with the package, so that the README's commands work after ``pip install`` too.

The wheel carries the repository's ``configs/`` as ``factdyn/configs`` (a link to it in the source tree,
listed as package data in ``pyproject.toml``). A ``--config`` path, a sweep file or a sweep's ``configs``
entry that does not exist is looked up there by its name below ``configs/``: ``configs/quickstart.yaml``,
``quickstart.yaml`` and ``presets/tiny.yaml`` all name a shipped file. A file that exists always wins (a
clone's ``configs/``, an edited copy), and a name that is not shipped is left as it was, for the parser's
own error. The resolved file is what the run's ``config.yaml`` records.

No torch, no Lightning: the sweep program uses it.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

SHIPPED = "configs"
"""The folder name, in the repository and in the package."""


def shipped_configs_dir() -> Path:
    """Where the shipped configs are (``<package>/configs``)."""
    return Path(str(files("factdyn") / SHIPPED))


def resolve_config(path: str) -> str:
    """``path`` if it exists, else the shipped config of that name (printing one line that says so), else
    ``path`` unchanged."""
    if not path or Path(path).exists():
        return path
    name = Path(path)
    if name.is_absolute():
        return path
    if name.parts[:1] == (SHIPPED,):
        name = Path(*name.parts[1:])
    shipped = shipped_configs_dir() / name
    if not shipped.is_file():
        return path
    print(f"factdyn: {path} is not here; using the config shipped with factdyn: {shipped}", file=sys.stderr)
    return str(shipped)


def resolve_config_args(args: list[str]) -> list[str]:
    """Command-line arguments with every ``--config <path>`` / ``--config=<path>`` passed through
    :func:`resolve_config`."""
    resolved: list[str] = []
    follows_flag = False
    for arg in args:
        if follows_flag:
            resolved.append(resolve_config(arg))
        elif arg.startswith("--config="):
            resolved.append("--config=" + resolve_config(arg.removeprefix("--config=")))
        else:
            resolved.append(arg)
        follows_flag = arg == "--config" and not follows_flag
    return resolved
