"""The libraries' messages factdyn silences: each by its text, and nothing else."""

from __future__ import annotations

import logging
import warnings

from lightning.fabric.utilities.warnings import PossibleUserWarning

from factdyn.library_noise import (
    LIGHTNING_INFO_LOGGER,
    LITLOGGER_TIP,
    evaluation_quiet,
    silence_library_noise,
)


def advice(tag: str) -> str:
    return (
        f"It is recommended to use `self.log({tag!r}, ..., sync_dist=True)` when logging on epoch level in "
        "distributed setting to accumulate the metric across devices."
    )


def test_only_the_named_warnings_are_silenced() -> None:
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        silence_library_noise()
        for tag in ("val/attr_loss", "unseen/attr_acc/major", "exposures/max", "step", "panel/attr_loss"):
            warnings.warn(advice(tag), PossibleUserWarning, stacklevel=1)
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning, stacklevel=1)
        warnings.warn(advice("my/metric"), PossibleUserWarning, stacklevel=1)  # a user's own tag
        warnings.warn(advice("validation_loss"), PossibleUserWarning, stacklevel=1)  # not factdyn's val/
        warnings.warn("something else is deprecated", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in shown] == [
        advice("my/metric"),
        advice("validation_loss"),
        "something else is deprecated",
    ]


def test_the_litlogger_tip_is_dropped_and_other_lines_kept() -> None:
    silence_library_noise()
    silence_library_noise()  # idempotent
    logger = logging.getLogger(LIGHTNING_INFO_LOGGER)
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep()
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logger.info(f"{LITLOGGER_TIP}, try installing [litlogger](https://pypi.org/project/litlogger/) ...")
        logger.info("GPU available: False, used: False")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert seen == ["GPU available: False, used: False"]
    assert sum(type(f).__name__ == "_DropMessages" for f in logger.filters) == 1


def test_evaluations_drop_two_lightning_cautions_only_inside() -> None:
    callbacks = (
        "Be aware that when using `ckpt_path`, callbacks used to create the checkpoint need to be provided "
        "during `Trainer` instantiation. Please add the following callbacks: [...]."
    )
    length = "Your `IterableDataset` has `__len__` defined. In combination with multi-process data loading"
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with evaluation_quiet():
            for message in (callbacks, length, "another caution"):
                warnings.warn(message, UserWarning, stacklevel=1)
        warnings.warn(callbacks, UserWarning, stacklevel=1)  # a resumed fit: the caution matters there
    assert [str(w.message) for w in shown] == ["another caution", callbacks]
