"""Progress display: tqdm only on a terminal (with the loss), one line every log step anywhere else."""

from __future__ import annotations

import io

import pytest
import torch
from lightning.pytorch.callbacks import TQDMProgressBar

from factdyn.callbacks.phase_detector import PhaseDetector
from factdyn.callbacks.progress import LineProgress, TerminalProgress, progress_bar, with_progress_display
from tests.helpers.fake_trainer import FakeTrainer


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_only_on_a_terminal() -> None:
    assert isinstance(progress_bar(Terminal()), TerminalProgress)
    assert isinstance(progress_bar(io.StringIO()), LineProgress)


def test_a_display_unless_disabled_or_configured() -> None:
    added = with_progress_display({}, [])
    assert len(added) == 1 and isinstance(added[0], (LineProgress, TerminalProgress))
    assert with_progress_display({"enable_progress_bar": False}, []) == []
    own = TQDMProgressBar()
    assert with_progress_display({"callbacks": [own]}, []) == []
    assert with_progress_display({}, [own]) == [own]


def test_lines_every_n_steps_after_the_steps_validation(capsys: pytest.CaptureFixture[str]) -> None:
    trainer = FakeTrainer()
    trainer.max_steps, trainer.log_every_n_steps = 6, 2
    trainer.callbacks = [PhaseDetector()]
    progress = LineProgress()
    progress.on_train_start(trainer, None)
    for step in range(1, 7):
        progress.on_train_batch_start(trainer, None)  # global_step: the steps done so far
        trainer.global_step = step
        trainer.callback_metrics = {"train/loss": torch.tensor(10.0 - step)}
        progress.on_train_batch_end(trainer, None)
        if step == 4:  # a validation at step 4: its line waits for it
            trainer.callback_metrics["val/attr_loss"] = torch.tensor(7.25)
            progress.on_validation_end(trainer, None)
    progress.on_train_end(trainer, None)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  elapsed")[0] for line in lines] == [
        "step 2/6  loss 8  phase 1 (statistics)",
        "step 4/6  loss 6  val/attr_loss 7.25 (step 4)  phase 1 (statistics)",
        "step 6/6  loss 4  val/attr_loss 7.25 (step 4)  phase 1 (statistics)",
    ]


def test_the_terminal_bar_shows_the_loss_read_on_logging_steps_only() -> None:
    trainer = FakeTrainer()
    trainer.callbacks, trainer.loggers, trainer.log_every_n_steps = [], [], 10
    trainer.progress_bar_metrics = {}
    trainer.callback_metrics = {"train/loss": torch.tensor(2.5)}
    bar = TerminalProgress()
    assert bar.get_metrics(trainer, None)["loss"] == "2.5"
    trainer.global_step, trainer.callback_metrics = 3, {"train/loss": torch.tensor(1.5)}
    assert bar.get_metrics(trainer, None)["loss"] == "2.5"  # not a logging step: not read again
    trainer.global_step = 10
    assert bar.get_metrics(trainer, None)["loss"] == "1.5"
