"""How the ``factdyn`` command reports an error: a user error in one line, a bug with its traceback.

A *user error* is something the person running factdyn can correct, raised before anything trains or is
written: a :class:`~factdyn.checks.UserError` (every :class:`~factdyn.checks.ConfigError`), any other
``ValueError``, an ``OSError`` (a missing, unreadable or unwritable file), or one of the ``extra`` types a
program adds (the CLI adds Lightning's ``MisconfigurationException``). It is printed as one line on stderr::

    factdyn: error: data.n_individuals: an integer >= 1, got 0

and the process exits with status 2 (as argparse does). A user error raised inside another exception's
``raise ... from`` chain counts too. Anything else (a bug) keeps its traceback. ``FACTDYN_DEBUG=1`` in the
environment shows the traceback of user errors as well.

No torch, no Lightning (the sweep and report programs use it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from factdyn.checks import UserError

DEBUG_ENV = "FACTDYN_DEBUG"
"""Set to a non-empty value other than ``0``: user errors show their traceback too."""

EXIT_USER_ERROR = 2


def debugging() -> bool:
    """Whether ``FACTDYN_DEBUG`` asks for tracebacks."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def user_error(error: BaseException, extra: tuple[type[BaseException], ...] = ()) -> BaseException | None:
    """The user error to report for ``error``, else ``None``: a :class:`UserError` anywhere in its chain
    (``raise ... from``, or raised while handling it: a library that wraps ours, e.g. jsonargparse listing
    why a value fits none of a union's types), else ``error`` itself or its ``__cause__`` when of a user-error
    type."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and not any(current is seen for seen in chain):
        chain.append(current)
        implicit = None if current.__suppress_context__ else current.__context__
        current = current.__cause__ if current.__cause__ is not None else implicit
    found = next((e for e in chain if isinstance(e, UserError)), None)
    if found is not None:
        return found
    explicit = [error] + ([error.__cause__] if error.__cause__ is not None else [])
    return next((e for e in explicit if isinstance(e, (ValueError, OSError, *extra))), None)


def one_line(error: BaseException) -> str:
    """The error as one line: its message (the type first unless it is a UserError), whitespace collapsed."""
    text = " ".join(str(error).split())
    if isinstance(error, UserError):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def print_error(line: str, prog: str = "factdyn") -> None:
    """``<prog>: error: <line>`` on stderr, flushed (whatever was printed before comes first)."""
    sys.stdout.flush()
    sys.stderr.write(f"{prog}: error: {line}\n")
    sys.stderr.flush()


@contextmanager
def reported_user_errors(
    extra: tuple[type[BaseException], ...] = (), prog: str = "factdyn"
) -> Iterator[None]:
    """Run the body; a user error leaving it is printed as one line and exits with status 2."""
    try:
        yield
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as error:
        found = user_error(error, extra)
        if found is None or debugging():
            raise
        print_error(one_line(found), prog)
        raise SystemExit(EXIT_USER_ERROR) from None


class OneLineArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line: ``<prog>: error: <message> (see <prog> --help)``
    instead of the usage text and the message."""

    def error(self, message: str) -> NoReturn:
        if debugging():
            super().error(message)
        print_error(f"{' '.join(message.split())} (see {self.prog} --help)", self.prog)
        raise SystemExit(EXIT_USER_ERROR)
