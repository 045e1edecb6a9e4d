"""The dependency directions of the layout (README "Layout"), enforced on every module of factdyn/.

Static: each module's imports are read from its source (module level and inside functions alike), joined
into the graph of factdyn modules, and followed transitively, parent packages included (importing
``factdyn.training.pretrained`` runs ``factdyn/training/__init__.py`` too). A rule names a set of modules and
the packages none of them may reach, directly or through another factdyn module. Runtime: the torch-free
modules are imported in a fresh interpreter, which must end up without torch or Lightning.
"""

from __future__ import annotations

import ast
import fnmatch
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tests.helpers.runs import REPO

PACKAGE = REPO / "factdyn"
TORCH = ("torch", "lightning", "pytorch_lightning", "torchmetrics")
LIGHTNING = ("lightning", "pytorch_lightning")
UPPER = ("factdyn.training", "factdyn.callbacks", "factdyn.cli")

# (modules, what they may not reach, why)
RULES: list[tuple[str, tuple[str, ...], str]] = [
    ("factdyn.analysis*", (*TORCH, *UPPER), "reports run anywhere"),
    ("factdyn.sweep*", (*TORCH, *UPPER), "sweeps run anywhere"),
    ("factdyn.checks", (*TORCH, "factdyn.*"), "every layer checks through it"),
    ("factdyn.run_layout", (*TORCH, "factdyn.*"), "sweeps and analysis read run directories"),
    (
        "factdyn.errors",
        (*TORCH, *UPPER, "factdyn.data", "factdyn.model", "factdyn.sweep", "factdyn.analysis"),
        "the sweep and report programs print their errors through it",
    ),
    (
        "factdyn.dynamics*",
        (*TORCH, "factdyn.data", "factdyn.model", "factdyn.training"),
        "analysis reuses it",
    ),
    (
        "factdyn.model*",
        (*LIGHTNING, "factdyn.data", "factdyn.training", "factdyn.callbacks", "factdyn.interp"),
        "a plain nn.Module anyone can reuse",
    ),
    (
        "factdyn.interp*",
        (*LIGHTNING, "factdyn.callbacks", "factdyn.data"),
        "patching logic is Lightning-free",
    ),
    (
        "factdyn.data*",
        ("factdyn.model", "factdyn.training", "factdyn.callbacks", "factdyn.interp"),
        "data never sees the model",
    ),
    ("factdyn.training.checkpoint_files", LIGHTNING, "checkpoints load without Lightning"),
    ("factdyn.training.pretrained", LIGHTNING, "a reference model loads without Lightning"),
    (
        "factdyn.training*",
        ("factdyn.callbacks", "factdyn.cli", "factdyn.toy"),
        "the module knows no callback",
    ),
    (
        "factdyn.callbacks*",
        ("factdyn.cli", "factdyn.toy", "factdyn.analysis", "factdyn.sweep"),
        "callbacks are thin adapters",
    ),
    (
        "factdyn.inspection*",
        ("factdyn.callbacks", "factdyn.cli", "factdyn.toy", "factdyn.sweep", "factdyn.analysis"),
        "it reads checkpoints and data, and trains nothing",
    ),
    (
        "factdyn.toy*",
        ("factdyn.data", "factdyn.model", "factdyn.callbacks", "factdyn.cli"),
        "the toy stands alone",
    ),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imported(path: Path) -> set[str]:
    """Every absolute module name a file imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


@cache
def reach(name: str) -> frozenset[str]:
    """Every module ``name`` imports, transitively through factdyn modules (external ones by their name)."""
    known = modules()
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        for target in imported(known[current]):
            for candidate in with_parents(target):
                if candidate.split(".")[0] != "factdyn":
                    seen.add(candidate)
                elif candidate in known and candidate not in seen:
                    seen.add(candidate)
                    todo.append(candidate)
    seen.discard(name)
    return frozenset(seen)


def forbidden(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, p) or name == p or name.startswith(f"{p}.") for p in patterns)


@pytest.mark.parametrize(("pattern", "banned", "why"), RULES, ids=[r[0] for r in RULES])
def test_dependency_direction(pattern: str, banned: tuple[str, ...], why: str) -> None:
    subjects = [m for m in modules() if fnmatch.fnmatch(m, pattern) or m == pattern.rstrip("*")]
    assert subjects, f"no module matches {pattern}"
    # A package's own modules may import each other: the rule is about what lies outside it.
    own = pattern.rstrip("*")
    broken = {
        m: sorted(d for d in reach(m) if forbidden(d, banned) and not (d == own or d.startswith(f"{own}.")))
        for m in subjects
    }
    broken = {m: d for m, d in broken.items() if d}
    assert not broken, f"{pattern} ({why}) reaches what it may not: {broken}"


def test_nothing_imports_the_cli() -> None:
    """``cli.py`` knows every piece; only the console script imports it."""
    users = sorted(m for m, p in modules().items() if m != "factdyn.cli" and "factdyn.cli" in imported(p))
    assert users == []


def test_only_the_cli_imports_inspection() -> None:
    """``factdyn.inspection`` sits above training (it loads what training wrote): only the CLI's dispatch and
    the package itself use it."""
    inspection = "factdyn.inspection"
    users = sorted(
        m
        for m, p in modules().items()
        if not m.startswith(inspection) and any(n.startswith(inspection) for n in imported(p))
    )
    assert users == ["factdyn.cli"]


def test_the_graph_sees_imports() -> None:
    """The static reader finds real edges, so an empty result above means something."""
    assert "factdyn.model.transformer" in reach("factdyn.training.module")
    assert "torch" in reach("factdyn.training.module")
    assert "lightning" in reach("factdyn.cli")
    assert forbidden("lightning.pytorch", LIGHTNING) and not forbidden("lightning_utilities", LIGHTNING)


def test_torch_free_modules_import_without_torch() -> None:
    torch_free = ("factdyn.analysis", "factdyn.sweep", "factdyn.dynamics")
    # ``__main__`` modules run their program when imported.
    names = [m for m in modules() if m.startswith(torch_free) and not m.endswith("__main__")]
    names += ["factdyn.checks", "factdyn.run_layout", "factdyn.errors"]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(TORCH)!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]", out
