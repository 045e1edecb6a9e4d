"""configs/ ships inside the package, and a config path that is not here names a shipped config."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

from factdyn.shipped_configs import resolve_config, resolve_config_args, shipped_configs_dir
from tests.helpers.runs import CONFIGS, REPO

YAMLS = sorted(p.relative_to(REPO).as_posix() for p in CONFIGS.rglob("*.yaml"))


def test_pyproject_ships_every_config() -> None:
    """factdyn/configs is the repository's configs/, and pyproject's package data takes every YAML in it."""
    link = REPO / "factdyn" / "configs"
    assert link.is_symlink() and link.resolve() == CONFIGS.resolve()
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = patterns["factdyn"]
    left_out = [y for y in YAMLS if not any(fnmatch.fnmatch(y, p) for p in shipped)]
    assert YAMLS and left_out == []
    assert [p.name for p in CONFIGS.rglob("*") if p.is_file() and p.suffix != ".yaml"] == []


def test_a_missing_path_names_the_shipped_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # outside the clone: configs/ is not here
    shipped = shipped_configs_dir()
    assert resolve_config("configs/quickstart.yaml") == str(shipped / "quickstart.yaml")
    assert resolve_config("presets/tiny.yaml") == str(shipped / "presets" / "tiny.yaml")
    assert "is not here; using the config shipped with factdyn" in capsys.readouterr().err
    assert resolve_config("configs/nothing.yaml") == "configs/nothing.yaml"  # the parser's error, later
    assert resolve_config("{trainer: {max_steps: 2}}") == "{trainer: {max_steps: 2}}"  # inline YAML
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "quickstart.yaml").write_text("seed_everything: 1\n")
    assert resolve_config("configs/quickstart.yaml") == "configs/quickstart.yaml"  # a file here wins
    args = ["fit", "--config", "paper.yaml", "--config=presets/tiny.yaml", "--data.seed", "paper.yaml"]
    assert resolve_config_args(args) == [
        "fit", "--config", str(shipped / "paper.yaml"), f"--config={shipped / 'presets' / 'tiny.yaml'}",
        "--data.seed", "paper.yaml",
    ]  # fmt: skip


def test_the_cli_and_sweeps_read_shipped_configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from factdyn.cli import cli_main, main
    from factdyn.sweep.grid import Sweep

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as printed:
        main(["fit", "--config", "configs/presets/tiny.yaml", "--print_config"])
    assert printed.value.code in (0, None)
    cli = cli_main(["--config", resolve_config("presets/tiny.yaml")], run=False)
    assert cli.datamodule.n_individuals == 64
    sweep = Sweep.load("configs/sweeps/tiny.yaml")
    assert sweep.configs == [str(shipped_configs_dir() / "presets" / "tiny.yaml")]


@pytest.mark.slow
def test_a_built_wheel_holds_the_configs(tmp_path: Path) -> None:
    """What ``pip install .`` installs: the wheel has every config under factdyn/configs/."""
    source = tmp_path / "source"  # a copy: the build leaves build/ and *.egg-info where it runs
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for name in ("factdyn", "configs"):
        skip = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / name, source / name, symlinks=True, ignore=skip)
    build = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation"]
    env = {**os.environ, "PIP_NO_INDEX": "1"}
    subprocess.run([*build, "-w", str(tmp_path)], check=True, capture_output=True, env=env)
    (wheel,) = tmp_path.glob("factdyn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"factdyn/" + y for y in YAMLS} <= names
