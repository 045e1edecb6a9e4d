"""Sweep files and their expansion: a :class:`Sweep` (the parsed, validated file) expands into one
:class:`RunSpec` per grid point × seed, each an ordinary ``factdyn fit`` run with a fixed directory.

Run names and directories are a pure function of the file, which is what makes a sweep idempotent: whether
a run is finished or resumable is read from its directory (:mod:`factdyn.run_layout`), never from state the
sweep keeps.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from factdyn import run_layout
from factdyn.shipped_configs import resolve_config

SWEEP_KEYS = {"name", "configs", "grid", "seeds", "overrides", "save_dir", "command", "slurm"}
COMMANDS = {"fit": ["fit"], "toy fit": ["toy", "fit"]}
RUN_VERSION = 0
"""Every sweep run is ``version_0`` of its own name: Lightning never picks a new version on a re-run."""


def cli_value(value: Any) -> str:
    """A config value as one command-line token jsonargparse parses back to the same value."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)  # true / false / null
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    return str(value)


def slug_value(value: Any) -> str:
    """A short, filesystem-safe rendering of a grid value (dicts: class name and init args)."""
    if isinstance(value, dict):
        parts = []
        if "class_path" in value:
            parts.append(str(value["class_path"]).rsplit(".", 1)[-1])
        rest = value.get("init_args", {}) if "class_path" in value else value
        parts += [f"{k}{slug_value(v)}" for k, v in sorted(rest.items())]
        text = "-".join(parts)
    elif isinstance(value, (list, tuple)):
        text = "-".join(slug_value(v) for v in value)
    else:
        text = cli_value(value)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "none"


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """Last dotted component of each key, or the whole key where two keys would share it."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (s if last.count(s) == 1 else k) for k, s in zip(keys, last, strict=True)}


@dataclass(frozen=True)
class RunSpec:
    """One grid point × seed of a sweep: a normal ``factdyn fit`` run with its own fixed directory.

    Args:
        name: deterministic run name (``<sweep>-<key>=<value>...-seed=<s>``).
        params: the grid values of this point (config key -> value).
        seed: the seed (``--seed_everything``).
        index: position in the sweep (the SLURM array task id).
        run_dir: ``<save_dir>/<sweep>/<name>/version_0``, where Lightning writes the run.
        subcommand: the ``factdyn`` words before the arguments (``["fit"]`` or ``["toy", "fit"]``).
        args: the arguments after the subcommand (configs, overrides, grid values, seed, logger location).
    """

    name: str
    params: dict[str, Any]
    seed: int
    index: int
    run_dir: Path
    subcommand: tuple[str, ...]
    args: tuple[str, ...]

    @property
    def finished(self) -> bool:
        """The run ran to its end (see :func:`factdyn.run_layout.is_finished`)."""
        return run_layout.is_finished(self.run_dir)

    @property
    def status(self) -> str:
        """``finished``; ``resume`` (interrupted with checkpoints: it resumes from the newest that can, see
        :mod:`factdyn.sweep.recovery`, else restarts); ``restart`` (interrupted before its first
        checkpoint: it starts from scratch, its attempt set aside); or ``new``."""
        if self.finished:
            return "finished"
        if run_layout.has_checkpoint(self.run_dir):
            return "resume"
        return "restart" if run_layout.holds_a_run(self.run_dir) else "new"

    def cli_args(self, ckpt_path: str | Path | None = None) -> list[str]:
        """Arguments after the subcommand; with ``--ckpt_path`` when resuming from ``ckpt_path``."""
        return [*self.args, *(["--ckpt_path", str(ckpt_path)] if ckpt_path is not None else [])]

    def command(self, python: str = sys.executable, ckpt_path: str | Path | None = None) -> list[str]:
        """The full command line that runs this run with ``python`` (resuming from ``ckpt_path``)."""
        return [python, "-m", "factdyn.cli", *self.subcommand, *self.cli_args(ckpt_path)]

    def describe(self) -> str:
        """``key=value ... seed=<s>``: the grid values of this run, for progress lines."""
        return " ".join(f"{k}={cli_value(v)}" for k, v in self.params.items()) + f" seed={self.seed}"


@dataclass
class Sweep:
    """A parsed sweep file. Use :meth:`load` (validates) and :meth:`expand` (the runs).

    Args:
        name: the sweep's name (folder under ``save_dir`` and prefix of every run name).
        configs: base config files, passed as ``--config`` in order.
        grid: config key -> list of values; the runs are the cartesian product (keys in file order).
        seeds: seeds, crossed with the grid.
        overrides: config key -> value for every run (applied before the grid values).
        save_dir: root of the run directories.
        command: ``fit`` or ``toy fit``.
        slurm: extra ``#SBATCH --key=value`` options for :func:`factdyn.sweep.slurm.slurm_script`.
    """

    name: str
    configs: list[str]
    grid: dict[str, list[Any]] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    overrides: dict[str, Any] = field(default_factory=dict)
    save_dir: str = "logs/sweeps"
    command: str = "fit"
    slurm: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path, save_dir: str | None = None) -> Sweep:
        """Parse and validate a sweep file; ``save_dir`` overrides the file's (``--save-dir``)."""
        path = Path(resolve_config(str(path)))
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a sweep file must be a mapping, got {type(data).__name__}")
        unknown = set(data) - SWEEP_KEYS
        if unknown:
            raise ValueError(f"{path}: unknown sweep keys {sorted(unknown)}; allowed: {sorted(SWEEP_KEYS)}")
        sweep = cls(**data)
        if save_dir is not None:
            sweep.save_dir = save_dir
        return sweep.validate(str(path))

    def validate(self, where: str = "sweep") -> Sweep:
        """Check every field, naming it in the error (``where``: the file); returns ``self``."""
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", self.name):
            raise ValueError(f"{where}: name must be a non-empty string of [A-Za-z0-9._-], got {self.name!r}")
        if isinstance(self.configs, str):
            self.configs = [self.configs]
        if not self.configs:
            raise ValueError(f"{where}: configs must list at least one config file")
        self.configs = [resolve_config(str(config)) for config in self.configs]
        for config in self.configs:
            if not Path(config).exists():
                raise ValueError(
                    f"{where}: configs entry {config!r} does not exist (paths are relative to the cwd)"
                )
        if not isinstance(self.grid, dict):
            raise ValueError(f"{where}: grid must map config keys to lists of values, got {self.grid!r}")
        for key, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"{where}: grid.{key} must be a non-empty list of values, got {values!r}")
            width = len(split_key(key))
            if width > 1 and not all(isinstance(v, list) and len(v) == width for v in values):
                raise ValueError(
                    f"{where}: grid.{key} couples {width} keys, so each value must be a list of {width} "
                    f"values, got {values!r}"
                )
        if (
            not isinstance(self.seeds, list)
            or not self.seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in self.seeds)
        ):
            raise ValueError(f"{where}: seeds must be a non-empty list of integers, got {self.seeds!r}")
        if not isinstance(self.overrides, dict):
            raise ValueError(f"{where}: overrides must map config keys to values, got {self.overrides!r}")
        clash = set(self.overrides) & set(self.grid)
        if clash:
            raise ValueError(f"{where}: keys {sorted(clash)} are both in grid and overrides")
        if not isinstance(self.slurm, dict):
            raise ValueError(f"{where}: slurm must map sbatch option names to values, got {self.slurm!r}")
        if self.command not in COMMANDS:
            raise ValueError(f"{where}: command must be one of {sorted(COMMANDS)}, got {self.command!r}")
        return self

    @property
    def root(self) -> Path:
        """``<save_dir>/<name>``: the folder that holds the sweep's runs."""
        return Path(self.save_dir) / self.name

    def expand(self) -> list[RunSpec]:
        """One :class:`RunSpec` per grid point × seed (grid points in file order, seeds innermost)."""
        keys = list(self.grid)
        shorts = short_keys([k for key in keys for k in split_key(key)])
        points = list(itertools.product(*(self.grid[k] for k in keys)))
        runs = []
        for point, seed in itertools.product(points, self.seeds):
            params: dict[str, Any] = {}
            for key, value in zip(keys, point, strict=True):
                parts = split_key(key)
                params.update(zip(parts, value, strict=True) if len(parts) > 1 else [(key, value)])
            slug = [f"{shorts[k]}={slug_value(v)}" for k, v in params.items()]
            name = "-".join([self.name, *slug, f"seed={seed}"])
            args: list[str] = []
            for config in self.configs:
                args += ["--config", str(config)]
            for key, value in [*self.overrides.items(), *params.items()]:
                args += [f"--{key}", cli_value(value)]
            args += [
                "--seed_everything", str(seed),
                "--trainer.logger.init_args.save_dir", str(self.root),
                "--trainer.logger.init_args.name", name,
                "--trainer.logger.init_args.version", str(RUN_VERSION),
            ]  # fmt: skip
            runs.append(
                RunSpec(
                    name=name,
                    params=params,
                    seed=seed,
                    index=len(runs),
                    run_dir=run_layout.version_dir(self.root / name, RUN_VERSION),
                    subcommand=tuple(COMMANDS[self.command]),
                    args=tuple(args),
                )
            )
        names = [r.name for r in runs]
        if len(set(names)) != len(names):
            raise ValueError(f"sweep {self.name}: two grid points map to the same run name: {names}")
        return runs


def split_key(key: str) -> list[str]:
    """A grid key ``"a,b"`` couples config keys: each of its values is a list ``[value_a, value_b]``."""
    return [k.strip() for k in key.split(",")]
