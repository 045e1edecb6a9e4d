"""Generated block of REPRODUCTION §9 (issue 16 e): does replay prevent the initial drop of old knowledge
only because of how we fine-tune? The paper keeps training after pre-training (its optimizer state, and a
fine-tuning lr about 1/13 of the pre-training one); ours resets AdamW and uses 2e-4 after 5e-3. The runs
of ``results/finetuning_drop`` keep the moments (``model.init_optimizer_state``) or not, at 2e-4 or 2e-5,
with replay 1/4 or none; fresh moments at 2e-4 are §5's runs (``results/finetuning``)."""

from __future__ import annotations

from pathlib import Path

from factdyn.analysis.evidence import finetuning
from factdyn.analysis.evidence.archive_view import Column, Experiment, markdown_table, row_cells
from factdyn.analysis.evidence.verdicts import Verdict
from factdyn.analysis.report.measures import final
from factdyn.analysis.report.run_info import RunInfo

NAME = "finetuning_drop"
HOW = "Run `bash scripts/campaign_cpu.sh finetuning_drop` (after `quickstart`), then `factdyn evidence`."
DROP_WINDOW = 250
"""The initial drop is the lowest old accuracy up to this step (the collapse happens within ~100 steps)."""
Setting = tuple[bool, float, float]
"""(AdamW moments kept, fine-tuning lr, replay weight)."""
FINE_TUNING = ((False, 2e-4), (False, 2e-5), (True, 2e-4), (True, 2e-5))
"""(moments kept, lr) in table order; the first is §5's."""


def setting_of(info: RunInfo) -> Setting | None:
    """A 125-new-people run's setting; ``None`` for any other run (or one whose config lacks the lr)."""
    setting, lr = finetuning.new_and_replay(info), info.config.get("model.lr")
    if setting is None or lr is None or setting[0] != finetuning.MAIN:
        return None
    return bool(info.config.get("model.init_optimizer_state")), float(lr), setting[1]


def settings(results: Path) -> dict[Setting, list[RunInfo]]:
    """Setting -> the runs of every seed, from both archives (no replay and replay 1/4 only)."""
    out: dict[Setting, list[RunInfo]] = {}
    for name in (finetuning.NAME, NAME):
        for info in Experiment(results, name).runs():
            setting = setting_of(info)
            if setting is not None and setting[2] in (0.0, finetuning.REPLAY):
                out.setdefault(setting, []).append(info)
    order = [(kept, lr, w) for kept, lr in FINE_TUNING for w in (0.0, finetuning.REPLAY)]
    return {s: out[s] for s in order if s in out}


def lowest_old_accuracy(info: RunInfo) -> float | None:
    """The lowest ``ft_old/attr_acc`` logged up to :data:`DROP_WINDOW` steps."""
    curve = info.curve(finetuning.OLD_ACC)
    if curve is None:
        return None
    steps, values = curve
    early = values[steps <= DROP_WINDOW]
    return float(early.min()) if len(early) else None


COLUMNS: tuple[Column, ...] = (
    ("old accuracy, step 0 (pre-trained)", finetuning.START, ".3f", False),
    *((f"old accuracy, step {s}", finetuning.at_step(finetuning.OLD_ACC, s), ".3f", False)
      for s in finetuning.EARLY_STEPS),
    (f"lowest old accuracy, steps 0-{DROP_WINDOW}", lowest_old_accuracy, ".3f", True),
    ("old loss, end", final(finetuning.OLD_LOSS), ".3f", False),
    (f"new accuracy, step {finetuning.NEW_LEARNING_STEP}",
     finetuning.at_step(finetuning.NEW_ACC, finetuning.NEW_LEARNING_STEP), ".3f", False),
    ("new accuracy, end", final(finetuning.NEW_ACC), ".3f", False),
)  # fmt: skip


def label(kept: bool, lr: float) -> str:
    text = f"{'kept' if kept else 'fresh'} moments, lr {lr:g}"
    return text + (" (§5)" if (kept, lr) == FINE_TUNING[0] else "")


def table(results: Path) -> str:
    rows = settings(results)
    if not any(kept or lr != FINE_TUNING[0][1] for kept, lr, _ in rows):
        return Experiment(results, NAME).missing(HOW)
    body = [
        (label(kept, lr), f"{weight:g}", str(len(runs)), *row_cells(runs, COLUMNS))
        for (kept, lr, weight), runs in rows.items()
    ]
    steps = " or ".join(sorted({f"{i.max_steps:,}" for runs in rows.values() for i in runs if i.max_steps}))
    header = ["fine-tuning", "replay weight", "seeds", *(name for name, *_ in COLUMNS)]
    note = (
        f"\n\n{finetuning.MAIN} new people, {steps} steps from each seed's quickstart model; mean ± s.d. "
        "over the seeds (per seed in brackets where shown). Kept moments: AdamW's state from the "
        "pre-training checkpoint's `last.ckpt`."
    )
    return markdown_table(header, body) + note


def question_key(kept: bool, lr: float) -> str:
    """The verdict key of "with replay, is old accuracy at step 100 still below the pre-trained model's?"."""
    return f"replay_drop_{'kept' if kept else 'fresh'}_lr_{lr:g}"


def verdicts(results: Path) -> dict[str, Verdict]:
    """Per fine-tuning setting beyond §5's: §5's ``replay_initial_drop_remains`` rule on its replay runs."""
    rows = settings(results)
    out: dict[str, Verdict] = {}
    for kept, lr in FINE_TUNING[1:]:
        replayed = rows.get((kept, lr, finetuning.REPLAY))
        if replayed:
            out[question_key(kept, lr)] = finetuning.initial_drop_remains(replayed)
    return out
