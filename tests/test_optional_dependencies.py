"""An optional dependency that is missing is one line naming the extra to install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def test_report_without_matplotlib_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from factdyn.cli import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(SystemExit) as stopped:
        main(["report", str(tmp_path), "--out", str(tmp_path / "out")])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "factdyn: error: factdyn report needs matplotlib, which is not installed: "
        "pip install 'factdyn[analysis]'\n"
    )
    assert not (tmp_path / "out").exists()  # nothing was read or written
