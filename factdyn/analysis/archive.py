"""``factdyn archive``: the results archive, a committed copy of finished runs small enough for the repo.

``factdyn archive RUN_DIR... --to results/<experiment>`` copies each finished run's small files
(:data:`factdyn.run_layout.ARCHIVED_FILES`: resolved config, summary, sampler record, exposures, knowledge
panel), writes every logged scalar as ``scalars.csv.gz`` in place of the event files
(:mod:`factdyn.analysis.scalar_table`), and records in ``archive.json`` where the run came from and each
archived file's size and SHA-256.
``factdyn report`` and every other reader of runs (:mod:`factdyn.analysis.runs`) read an archived run as they
read a live one. ``factdyn archive --verify results`` checks every archived file against its recorded hash,
so an edited number cannot pass for an archived one.

Names: a run found under a given folder keeps its path below that folder, with a sweep's ``version_0`` left
out (``logs/sweeps/zipf/zipf-alpha=0.4-seed=1/version_0`` given as ``logs/sweeps/zipf`` becomes
``results/<experiment>/zipf-alpha=0.4-seed=1``); a run directory given itself keeps its own name
(``logs/quickstart/version_0`` becomes ``quickstart``). Archiving a run again updates its archived copy; a
copy that came from another run directory is replaced only with ``--replace``.
Checkpoints, text, images and histograms are not archived.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factdyn import __version__, run_layout
from factdyn.analysis.runs import find_runs, read_scalars
from factdyn.analysis.scalar_table import write_scalar_table
from factdyn.errors import OneLineArgumentParser

RUN_BUDGET_BYTES = 200_000
"""What one archived run may take (issue 19); ``factdyn archive`` says when a run exceeds it."""
RECORD_FORMAT = 1


def recorded_source(dest: Path) -> str | None:
    """The source recorded in an archived run's ``archive.json`` (``None`` when there is none)."""
    record = dest / run_layout.ARCHIVE_RECORD
    return json.loads(record.read_text()).get("source") if record.is_file() else None


@dataclass(frozen=True)
class ArchivedRun:
    """One run :func:`archive_run` wrote: where from, where to, and how large the archived copy is."""

    source: Path
    dest: Path
    bytes: int
    scalar_rows: int


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def display_path(path: Path) -> str:
    """``path`` relative to the working directory where it lies below it (archives then carry no
    machine-specific prefix), else absolute."""
    path = path.resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def archive_name(run_dir: Path, given: Path) -> Path:
    """The archived run's path below ``--to``: the run's path below the folder it was found in (``given``),
    a trailing ``version_0`` dropped; a run directory given itself is named after itself (after its parent
    when it is a ``version_<k>`` folder)."""
    if run_dir.resolve() == given.resolve():
        if run_layout.version_number(run_dir) >= 0:
            parts = [run_dir.parent.name, run_dir.name]
        else:
            parts = [run_dir.name]
    else:
        parts = list(run_dir.resolve().relative_to(given.resolve()).parts)
    if parts[-1] == run_layout.VERSION_PREFIX + "0":
        # A sweep run's folder given itself (``.../<run>`` holding ``version_0``) is named after the folder.
        parts = parts[:-1] or [given.name]
    return Path(*parts)


def archive_run(run_dir: Path, dest: Path) -> ArchivedRun:
    """Write the archived copy of one finished run into ``dest`` (replacing what was there)."""
    series = read_scalars(run_dir)
    if not series:
        raise ValueError(f"{run_dir}: no scalars to archive (no TensorBoard events or scalar table)")
    staging = dest.with_name(dest.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    files: dict[str, Any] = {}
    for name in run_layout.ARCHIVED_FILES:
        if (run_dir / name).is_file():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(run_dir / name, staging / name)
    rows = write_scalar_table(staging / run_layout.SCALARS_TABLE, series)
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        files[path.relative_to(staging).as_posix()] = {"bytes": path.stat().st_size, "sha256": sha256(path)}
    record = {
        "format": RECORD_FORMAT,
        "source": display_path(run_dir),
        "archived_with": f"factdyn {__version__}",
        "files": files,
        "scalars": {"tags": len(series), "rows": rows},
    }
    (staging / run_layout.ARCHIVE_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    # Replace the old copy only once the new one is complete: an interrupted archive loses nothing.
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    return ArchivedRun(source=run_dir, dest=dest, bytes=size, scalar_rows=rows)


def planned(
    paths: Sequence[str | Path], to: Path, replace: bool = False
) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """(finished run, destination) pairs for every run under ``paths``, and the unfinished runs skipped.
    Two runs mapping to one destination, a run that is already an archive, or a destination holding
    another run's archive (unless ``replace``) are user errors."""
    pairs: dict[Path, Path] = {}
    skipped = []
    for given in map(Path, paths):
        if not given.exists():
            raise ValueError(f"factdyn archive: {given} does not exist")
        for run in find_runs(given):
            if run_layout.is_archived(run.path):
                raise ValueError(
                    f"factdyn archive: {run.path} is already an archived run (archive run directories, "
                    "not archives)"
                )
            if not run.finished:
                skipped.append(run.path)
                continue
            dest = to / archive_name(run.path, given)
            if dest in pairs:
                raise ValueError(
                    f"factdyn archive: {pairs[dest]} and {run.path} would both be archived as {dest}; "
                    "archive them with different --to folders"
                )
            previous = recorded_source(dest)
            if previous is not None and previous != display_path(run.path) and not replace:
                raise ValueError(
                    f"factdyn archive: {dest} holds {previous}, not {run.path}; pass --replace to overwrite "
                    "it, or choose another --to"
                )
            pairs[dest] = run.path
    return [(source, dest) for dest, source in pairs.items()], skipped


def archive(paths: Sequence[str | Path], to: str | Path, replace: bool = False) -> list[ArchivedRun]:
    """Archive every finished run under ``paths`` into ``to`` (see the module docstring); an archived copy of
    the same source is updated, one of another source only with ``replace``."""
    to = Path(to)
    pairs, skipped = planned(paths, to, replace)
    if not pairs:
        raise ValueError(f"factdyn archive: no finished run (with {run_layout.SUMMARY}) under {list(paths)}")
    for path in skipped:
        print(f"[archive] skipped {path}: unfinished (no {run_layout.SUMMARY}, or one saying interrupted)")
    return [archive_run(source, dest) for source, dest in pairs]


def verify(root: str | Path) -> list[str]:
    """Every problem with the archived runs under ``root`` (a file missing, unrecorded or not matching its
    recorded hash), one line each; empty when all is well."""
    problems = []
    records = sorted(Path(root).rglob(run_layout.ARCHIVE_RECORD))
    if not records:
        return [f"{root}: no archived runs ({run_layout.ARCHIVE_RECORD})"]
    for record_path in records:
        run_dir = record_path.parent
        recorded = json.loads(record_path.read_text()).get("files", {})
        present = {
            p.relative_to(run_dir).as_posix()
            for p in run_dir.rglob("*")
            if p.is_file() and p.name != run_layout.ARCHIVE_RECORD
        }
        for name in sorted(present - set(recorded)):
            problems.append(f"{run_dir / name}: not recorded in {run_layout.ARCHIVE_RECORD}")
        for name, entry in sorted(recorded.items()):
            path = run_dir / name
            if not path.is_file():
                problems.append(f"{path}: recorded but missing")
            elif sha256(path) != entry.get("sha256"):
                problems.append(f"{path}: content differs from its recorded SHA-256")
    return problems


def main(argv: list[str] | None = None) -> None:
    """``factdyn archive RUN_DIR... --to results/<experiment>`` or ``factdyn archive --verify results``."""
    parser = OneLineArgumentParser(
        prog="factdyn archive",
        description="Copy finished runs into the committed results archive (config, summary, sampler, "
        "exposures, every scalar as scalars.csv.gz, hashes in archive.json), or verify an archive.",
    )
    parser.add_argument("runs", nargs="*", type=Path, help="run directories or folders holding runs")
    parser.add_argument("--to", type=Path, help="archive folder for these runs (results/<experiment>)")
    parser.add_argument(
        "--replace", action="store_true", help="overwrite archived runs that came from another source"
    )
    parser.add_argument("--verify", type=Path, metavar="DIR", help="check the archived runs under DIR")
    args = parser.parse_args(argv)
    if args.verify is not None:
        if args.runs or args.to:
            parser.error("--verify takes no run directories and no --to")
        problems = verify(args.verify)
        for line in problems:
            print(f"[archive] {line}")
        if problems:
            raise SystemExit(1)
        n = len(list(args.verify.rglob(run_layout.ARCHIVE_RECORD)))
        print(f"[archive] {n} archived runs under {args.verify}: every file matches its recorded hash")
        return
    if not args.runs or args.to is None:
        parser.error("give run directories and --to results/<experiment> (or --verify DIR)")
    done = archive(args.runs, args.to, args.replace)
    for run in done:
        over = f" (over the {RUN_BUDGET_BYTES // 1000} kB budget)" if run.bytes > RUN_BUDGET_BYTES else ""
        size = f"{run.bytes / 1000:.1f} kB, {run.scalar_rows} scalars"
        print(f"[archive] {run.source} -> {run.dest}: {size}{over}")
    total = sum(r.bytes for r in done)
    print(f"[archive] {len(done)} runs, {total / 1000:.1f} kB in {args.to}")
