"""``factdyn evidence``: write (or, with ``--check``, compare) the generated blocks of REPRODUCTION.md and
README.md from the results archive.

    factdyn evidence                       # rewrite the blocks in REPRODUCTION.md and README.md
    factdyn evidence --check               # exit 1 naming each file whose blocks differ from the archive
    factdyn evidence --results results docs/attention.md
"""

from __future__ import annotations

from pathlib import Path

from factdyn.analysis.evidence.blocks import fill_blocks
from factdyn.analysis.evidence.registry import render
from factdyn.errors import OneLineArgumentParser

DEFAULT_FILES = (Path("REPRODUCTION.md"), Path("README.md"))
DEFAULT_RESULTS = Path("results")


def regenerated(path: Path, results: Path) -> str:
    """The text of ``path`` with its generated blocks rewritten from ``results``."""
    return fill_blocks(path.read_text(), lambda name: render(name, results))


def stale_files(files: list[Path], results: Path) -> list[Path]:
    """The files whose generated blocks differ from what the archive gives."""
    return [path for path in files if regenerated(path, results) != path.read_text()]


def main(argv: list[str] | None = None) -> None:
    parser = OneLineArgumentParser(
        prog="factdyn evidence",
        description="Write the generated tables and verdicts of REPRODUCTION.md and README.md from the "
        "results archive (or check them with --check).",
    )
    parser.add_argument("files", nargs="*", type=Path, help=f"Markdown files (default: {DEFAULT_FILES})")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="the results archive")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if a file differs")
    args = parser.parse_args(argv)
    files = args.files or list(DEFAULT_FILES)
    for path in files:
        if not path.is_file():
            parser.error(f"{path} does not exist")
    if args.check:
        stale = stale_files(files, args.results)
        for path in stale:
            print(f"[evidence] {path}: generated blocks differ from {args.results}; run `factdyn evidence`")
        if stale:
            raise SystemExit(1)
        print(f"[evidence] {', '.join(map(str, files))}: every generated block matches {args.results}")
        return
    for path in files:
        text = regenerated(path, args.results)
        if text != path.read_text():
            path.write_text(text)
            print(f"[evidence] {path}: generated blocks rewritten from {args.results}")
        else:
            print(f"[evidence] {path}: up to date")
