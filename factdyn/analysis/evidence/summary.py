"""The summary block of REPRODUCTION.md: every claim of the paper that factdyn checks, with its verdict
under the rule of :mod:`factdyn.analysis.evidence.verdicts`, or *not measured* where no archived runs
exist yet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from factdyn.analysis.evidence import (
    attention,
    distributions,
    finetuning,
    finetuning_drop,
    fixed_order,
    knowledge_panel,
    plateau_vs_n,
    quickstart,
    robustness,
    substrate,
    toy,
)
from factdyn.analysis.evidence.archive_view import markdown_table
from factdyn.analysis.evidence.verdicts import Verdict

NOT_MEASURED = "not measured on the current config yet"

CLAIMS: tuple[tuple[str, str, str], ...] = (
    ("1", "three_phases", "Training goes through three phases: a fast fall to the no-knowledge baseline, a "
     "plateau at it, then the acquisition of individual knowledge"),
    ("1", "plateau_vs_n", "The plateau's end grows almost linearly with N (0.43·N^0.81 steps)"),
    ("2", "attr_to_name_rises", "During the plateau, attention from the attribute to the name rises in the "
     "last layer"),
    ("2", "name_to_name_layer0_rises", "Name tokens attend to each other in the first layer (name grouping)"),
    ("2", "late_patterns_shorten_plateau", "Training with the final model's attention patterns shortens the "
     "plateau"),
    ("2", "later_references_better", "Patterns from later in training help more (end of training against "
     "mid-plateau)"),
    ("2", "early_patterns_worse_than_untrained", "Patterns from phase 1 are worse than untrained "
     "ones"),
    ("3", "zipf_shortens_plateau", "Imbalance shortens the plateau (Zipf α 0.6 against uniform; the paper's "
     "optimum is α 0.6-0.8)"),
    ("3", "zipf_one_past_optimum", "α = 1 is past the optimum: its plateau ends later than α 0.6's"),
    ("3", "celebrities_shorten_plateau", "Celebrities (a subset drawn more often) shorten the plateau"),
    ("3", "heavy_imbalance_hurts_final", "Heavy imbalance ends with more loss than uniform: the rare "
     "individuals are learned last (Zipf α 1 against uniform, final `val/attr_loss`)"),
    ("3", "warmup_shortens_plateau", "A warm-up on a subset shortens the plateau..."),
    ("3", "warmup_lowers_final_loss", "...and ends with a lower final loss than uniform"),
    ("4", "unseen_rises_with_knowledge", "The loss on unseen individuals rises while the training "
     "individuals are learned (final loss against the loss at the plateau's end)"),
    ("4", "unseen_above_baseline", "It ends above the no-knowledge baseline (overconfident hallucinations)"),
    ("4", "unseen_less_confident", "The model is less confident on unseen individuals than on known ones"),
    ("5", "finetune_collapse", "Fine-tuning on new individuals collapses old knowledge within ~100 steps "
     "(125 new people, no replay: old accuracy at step 100 against the pre-trained model)"),
    ("5", "finetune_more_new_worse", "More new individuals collapse it further (500 against 32 new people, "
     "old accuracy at step 100)"),
    ("5", "replay_limits_final_loss", "Replay limits the final old loss (replay weight 1/4 against none)"),
    ("5", "replay_initial_drop_remains", "...but not the initial drop (with replay 1/4, old accuracy at step "
     "100 still below the pre-trained model's)"),
    ("5", "replay_slows_new_learning", "Replay slows the learning of the new individuals (new accuracy at "
     "step 250)"),
    ("6", "toy_more_new_more_forgetting", "In a toy MLP associative memory, more new pairs make it forget "
     "more of the old ones (512 against 32 new pairs)"),
    ("6", "toy_replay_protects", "Replaying old pairs protects them (128 new pairs, replay weight 1/8 "
     "against none)"),
    ("7", "templates_robust", "The three phases appear with 2, 4, 8 or 16 training templates per "
     "individual"),
    ("7", "one_template_no_generalisation", "One template does not generalise to held-out templates (final "
     "held-out loss against 20 templates)"),
    ("7", "fixed_order_never_learns", "A fixed sentence order never leaves the plateau (16 templates)"),
    ("7", "hawk_three_phases", "The phases appear with a recurrent mixer (Hawk) too"),
)  # fmt: skip
"""(REPRODUCTION section, verdict key, the claim): the summary's rows, in order."""

QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("8", plateau_vs_n.PANEL_ACROSS_N, "At the largest N of the constant-lr N sweep (§9 c), are individuals "
     "known at fewer or more of their own exposures than at the smallest (20 % points)?"),
    ("8", "panel_head_zipf04", "Are the head individuals of Zipf α 0.4 known at fewer exposures than uniform "
     "ones (50 % point of bucket 0 against uniform's whole panel)?"),
    ("8", "panel_head_zipf08", "The same for Zipf α 0.8"),
    ("8", "panel_head_warmup", "The same for the warm-up subset"),
    ("8", "panel_new_after_pretraining", "Do new individuals after pre-training need fewer exposures than "
     "the first ones (fine-tuning without replay against the quickstart)?"),
    *(("9", distributions.head_key(a), f"Under Zipf α {a:g}, does the most frequent bucket (the top decile) "
       "leave its plateau before uniform's whole population?") for a in distributions.HEAD_ALPHAS),
    *(("9", substrate.question_key(s), "Does name→name attention in layer 0 end above its first evaluation "
       f"with the {s[0]} tokenizer and {s[1]} positions (name grouping)?") for s in substrate.SETTINGS[1:]),
    *(("9", finetuning_drop.question_key(kept, lr), f"With {'kept' if kept else 'fresh'} AdamW moments and "
       f"lr {lr:g}, is the old accuracy at step 100 with replay 1/4 still below the pre-trained model's?")
      for kept, lr in finetuning_drop.FINE_TUNING[1:]),
    ("9", plateau_vs_n.CONSTANT, "With a learning rate that stays at its peak after the warm-up, does the "
     "plateau end grow as the paper's N^0.81 (its exponent's interval holds 0.81)?"),
    *(("9", fixed_order.learns_key(p), f"Trained in a fixed sentence order with {p} positions, does the "
       f"model leave the plateau (final fixed-order held-out loss below {fixed_order.LEFT_PLATEAU} × the "
       "baseline)?") for p in fixed_order.POSITIONS),
    *(("9", fixed_order.shuffled_key(p), f"With {p} positions, is that model's final held-out loss on "
       "shuffled biographies higher than on fixed-order ones?") for p in fixed_order.POSITIONS),
)  # fmt: skip
"""Questions beyond the paper (§8: issue 20; §9: issue 16's substrate), answered under the same rule:
(section, verdict key, question)."""

VERDICT_SOURCES: tuple[Callable[[Path], dict[str, Verdict]], ...] = (
    quickstart.verdicts,
    plateau_vs_n.verdicts,
    attention.verdicts,
    distributions.verdicts,
    finetuning.verdicts,
    toy.verdicts,
    robustness.verdicts,
    knowledge_panel.verdicts,
    substrate.verdicts,
    finetuning_drop.verdicts,
    fixed_order.verdicts,
)


def all_verdicts(results: Path) -> dict[str, Verdict]:
    """Every verdict the archive supports, by key."""
    out: dict[str, Verdict] = {}
    for source in VERDICT_SOURCES:
        out.update(source(results))
    return out


def summary_table(results: Path) -> str:
    verdicts = all_verdicts(results)
    rows = []
    for section, key, claim in CLAIMS:
        found = verdicts.get(key)
        rows.append((f"§{section}", claim, found.text() if found is not None else NOT_MEASURED))
    return markdown_table(["", "claim (paper)", "verdict at quickstart scale"], rows)
