"""factdyn.callbacks.media: where text, figures and histograms go without TensorBoard, and how a resumed
run forgets what it will write again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from factdyn.callbacks.media import forget_media_from, histogram_edges, log_histogram, log_text, output_places
from factdyn.run_layout import MEDIA, media_path


class RunTrainer:
    """The trainer attributes the media functions read (a class: the announcement keeps a weak reference)."""

    def __init__(self, run_dir: Path, loggers: list, step: int, rank_zero: bool) -> None:
        self.loggers, self.global_step, self.is_global_zero = loggers, step, rank_zero
        self.fast_dev_run = False
        self.default_root_dir = str(run_dir)


def trainer(run_dir: Path, loggers: list, step: int = 0, rank_zero: bool = True) -> RunTrainer:
    return RunTrainer(run_dir, loggers, step, rank_zero)


def test_without_a_logger_text_and_histograms_are_files_of_the_run_directory(tmp_path: Path) -> None:
    for step in (4, 8):
        log_text(trainer(tmp_path, [], step), "phase/boundaries", f"- at {step}")
        log_histogram(trainer(tmp_path, [], step), "exposures/per_individual", np.array([0, 1, 1, 3]))
    assert (tmp_path / MEDIA / "phase" / "boundaries.md").read_text() == (
        "## step 4\n\n- at 4\n\n## step 8\n\n- at 8\n\n"
    )
    rows = (tmp_path / MEDIA / "exposures" / "per_individual.csv").read_text().splitlines()
    assert rows[0] == "step,lo,hi,count" and sum(int(r.split(",")[3]) for r in rows[1:] if r[0] == "8") == 4
    log_text(trainer(tmp_path / "other", [], 4, rank_zero=False), "phase/boundaries", "x")
    assert not (tmp_path / "other").exists()  # only rank zero writes


def test_a_resume_forgets_the_media_of_the_steps_it_writes_again(tmp_path: Path) -> None:
    for step in (4, 8, 12):
        log_text(trainer(tmp_path, [], step), "hallucinations/examples", f"table {step}")
        log_histogram(trainer(tmp_path, [], step), "exposures/per_individual", np.arange(5))
        figure = media_path(tmp_path, f"panel/first_known/step_{step:08d}", ".png")
        figure.parent.mkdir(parents=True, exist_ok=True)
        figure.write_bytes(b"png")
    forget_media_from(tmp_path, 8)
    text = (tmp_path / MEDIA / "hallucinations" / "examples.md").read_text()
    assert text == "## step 4\n\ntable 4\n\n"
    rows = (tmp_path / MEDIA / "exposures" / "per_individual.csv").read_text().splitlines()
    assert {r.split(",")[0] for r in rows[1:]} == {"4"}
    assert [p.name for p in (tmp_path / MEDIA / "panel" / "first_known").iterdir()] == ["step_00000004.png"]
    forget_media_from(tmp_path / "no_media", 0)  # a run that wrote none: nothing to do


def test_integer_histograms_have_whole_bins() -> None:
    edges = histogram_edges(np.array([0, 0, 1, 1, 3, 5]))
    assert np.all(edges == np.round(edges)) and edges[0] == 0 and edges[-1] > 5
    assert histogram_edges(np.array([0.25, 0.5]))[0] == 0.25  # floats: numpy's own bins


def test_media_paths_follow_the_tag_and_stay_inside() -> None:
    assert media_path("run", "panel/first_known", ".png") == Path("run", MEDIA, "panel", "first_known.png")
    assert media_path("run", "../x", ".md") == Path("run", MEDIA, "x.md")


def test_the_summary_names_each_loggers_place(tmp_path: Path) -> None:
    tb = TensorBoardLogger(tmp_path, name="tb", version="version_0")
    csv = CSVLogger(tmp_path, name="csv", version="version_0")
    run_dir = tmp_path / "csv" / "version_0"
    tensorboard = f"TensorBoard: tensorboard --logdir {tmp_path / 'tb'}"
    assert output_places(trainer(run_dir, [tb]), run_dir) == [tensorboard]
    assert output_places(trainer(run_dir, [csv]), run_dir) == [f"metrics: {run_dir / 'metrics.csv'}"]
    (run_dir / MEDIA).mkdir(parents=True)
    places = output_places(trainer(run_dir, []), run_dir)
    assert places == [
        "metrics: no logger (trainer.logger false); the final values are in the summary",
        f"text, figures, histograms: {run_dir / MEDIA}",
    ]
