"""``factdyn evidence``: generated blocks, the verdict rule, and the tables on a hand-made archive."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from factdyn.analysis.archive import archive
from factdyn.analysis.evidence.blocks import block_names, fill_blocks
from factdyn.analysis.evidence.registry import render
from factdyn.analysis.evidence.verdicts import (
    NO_DIFFERENCE,
    NOT_REPRODUCED,
    REPRODUCED,
    REVERSED,
    TOO_FEW,
    compare,
    holds_in_every_seed,
)
from factdyn.cli import main as factdyn_main
from factdyn.dynamics.panel_table import format_rows, header, write_member
from factdyn.run_layout import PANEL
from factdyn.training.evaluation_record import record_evaluation
from tests.helpers.report_runs import (
    BASELINE,
    attention_run,
    finetune_run,
    phase_curves,
    pretraining_run,
    write_run,
)

PLATEAU_ENDS = {0: 300, 1: 340, 2: 320}


def test_blocks_replace_only_what_lies_between_their_markers() -> None:
    text = (
        "Prose 1.5 stays.\n<!-- factdyn:table -->\nold\n<!-- /factdyn:table -->\n"
        "Inline: <!-- factdyn:verdict.x -->old<!-- /factdyn:verdict.x --> here."
    )
    out = fill_blocks(text, lambda name: {"table": "| a |\n|---|", "verdict.x": "**new**"}[name])
    assert out == (
        "Prose 1.5 stays.\n<!-- factdyn:table -->\n| a |\n|---|\n<!-- /factdyn:table -->\n"
        "Inline: <!-- factdyn:verdict.x -->**new**<!-- /factdyn:verdict.x --> here."
    )
    assert block_names(out) == ["table", "verdict.x"]
    with pytest.raises(ValueError, match="no closing"):
        block_names("<!-- factdyn:table -->\nrest of the file")


@pytest.mark.parametrize(
    "a, b, expect, outcome",
    [
        ({0: 1.0, 1: 1.1, 2: 0.9}, {0: 2.0, 1: 2.1, 2: 1.9}, "lower", REPRODUCED),
        ({0: 1.0, 1: 1.1, 2: 0.9}, {0: 2.0, 1: 2.1, 2: 1.9}, "higher", REVERSED),
        # The right direction in every seed, but a difference inside the seed spread.
        ({0: 1.0, 1: 2.0, 2: 3.0}, {0: 1.1, 1: 2.1, 2: 3.1}, "lower", NOT_REPRODUCED),
        # A large mean difference carried by one seed against the other two.
        ({0: 1.0, 1: 2.1, 2: -5.0}, {0: 1.1, 1: 2.0, 2: 3.0}, "lower", NOT_REPRODUCED),
        ({0: 1.0, 1: 1.1}, {0: 2.0, 1: 2.1}, "lower", TOO_FEW),
        ({0: 1.0, 1: 1.1, 2: None}, {0: 2.0, 1: 2.1, 2: 1.9}, "lower", TOO_FEW),
    ],
)
def test_the_verdict_rule(a: dict, b: dict, expect: str, outcome: str) -> None:
    assert compare(a, b, expect).outcome == outcome


def test_a_property_must_hold_in_every_seed() -> None:
    assert holds_in_every_seed({0: True, 1: True, 2: True}, "x").outcome == REPRODUCED
    assert holds_in_every_seed({0: True, 1: False, 2: True}, "x").outcome == NOT_REPRODUCED
    assert holds_in_every_seed({0: True, 1: True, 2: None}, "x").outcome == TOO_FEW


def hand_made_archive(tmp_path: Path) -> Path:
    """Three seeds of a quickstart-like run with known plateau ends, archived as results/quickstart."""
    for seed, end in PLATEAU_ENDS.items():
        config = {
            "seed_everything": seed,
            "trainer": {"max_steps": 800, "val_check_interval": 10},
            "data": {"n_individuals": 100, "batch_size": 4},
        }
        summary = {
            "steps": 800,
            "seed": seed,
            "baseline_attr_loss": BASELINE,
            "plateau": {"start_step": 50, "end_step": end, "knowledge_step": end + 300},
            "final": {"val/attr_loss": 0.01 * (seed + 1), "val/attr_acc": 0.99},
        }
        write_run(tmp_path / "logs", f"quickstart-seed={seed}", config, phase_curves(end, 800), summary)
    archive([tmp_path / "logs"], tmp_path / "results" / "quickstart")
    return tmp_path / "results"


def test_quickstart_tables_and_verdicts_come_from_the_archived_seeds(tmp_path: Path) -> None:
    results = hand_made_archive(tmp_path)
    phases = render("quickstart_phases", results)
    assert "seeds 0, 1, 2" in phases
    assert "320 ± 20 (300, 340, 320)" in phases  # plateau ends, per seed
    assert "| plateau length (evaluations) | 27 ± 2 (25, 29, 27) |" in phases
    assert "12.8 ± 0.8 (12, 13.6, 12.8)" in phases  # exposures = end × batch / N
    assert render("verdict.three_phases", results).startswith("**reproduced**")
    summary = render("summary", results)
    assert "not measured on the current config yet" in summary  # e.g. the N sweep: no runs archived
    assert "Not measured" in render("patching", results)


def test_unknown_blocks_and_stale_files(tmp_path: Path, capsys, monkeypatch) -> None:
    results = hand_made_archive(tmp_path)
    doc = tmp_path / "DOC.md"
    doc.write_text("<!-- factdyn:quickstart_phases -->\nstale\n<!-- /factdyn:quickstart_phases -->\n")
    with pytest.raises(SystemExit) as exit_info:
        factdyn_main(["evidence", "--check", "--results", str(results), str(doc)])
    assert exit_info.value.code == 1
    factdyn_main(["evidence", "--results", str(results), str(doc)])
    factdyn_main(["evidence", "--check", "--results", str(results), str(doc)])
    assert "matches" in capsys.readouterr().out
    assert "(300, 340, 320)" in doc.read_text()
    doc.write_text("<!-- factdyn:no_such_table -->x<!-- /factdyn:no_such_table -->")
    with pytest.raises(SystemExit) as exit_info:
        factdyn_main(["evidence", "--results", str(results), str(doc)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown generated block 'no_such_table'" in err[0]


def test_toy_table_and_verdicts_on_hand_made_runs(tmp_path: Path) -> None:
    """Old accuracy ends at 1 - n_new / 1000 without replay and at 0.99 with it, in every seed."""
    for seed in range(3):
        for n_new, weight in ((32, 0.0), (512, 0.0), (128, 0.0), (128, 0.125)):
            end = 0.99 if weight else 1 - n_new / 1000 - 0.01 * seed
            curve = [(step, 1.0 if step == 0 else end) for step in range(0, 4001, 20)]
            data = {"stage": "finetune", "n_new": n_new, "replay_weight": weight}
            config = {"seed_everything": seed, "data": data}
            summary = {"seed": seed, "final": {"toy/old_acc": end, "toy/new_acc": 1.0}}
            scalars = {"toy/old_acc": curve, "toy/new_acc": [(s, 1.0) for s, _ in curve]}
            write_run(tmp_path / "logs" / f"s{seed}", f"ft_n{n_new}_w{weight}", config, scalars, summary)
        archive([tmp_path / "logs" / f"s{seed}"], tmp_path / "results" / "toy" / f"seed_{seed}")
    results = tmp_path / "results"
    table = render("toy", results)
    assert "| 512 | 0 | 1.000 ± 0.000 (1.000, 1.000, 1.000) |" in table
    assert render("verdict.toy_more_new_more_forgetting", results).startswith("**reproduced**")
    assert render("verdict.toy_replay_protects", results).startswith("**reproduced**")


SAMPLERS = {  # name -> (sampler config, plateau ends of seeds 0, 1, 2, final val/attr_loss of every seed)
    "zipf06": ({"class_path": "factdyn.data.Zipf", "init_args": {"alpha": 0.6}}, (200, 230, 210), 0.02),
    "zipf1": ({"class_path": "factdyn.data.Zipf", "init_args": {"alpha": 1.0}}, (290, 330, 300), 0.5),
    "warmup": (
        {"class_path": "factdyn.data.WarmUp", "init_args": {"warmup_individuals": 25, "warmup_epochs": 3.0}},
        (340, 380, 360),  # later than uniform by more than the spread: reversed
        0.001,
    ),
}


def test_distribution_table_and_verdicts_pair_each_sampler_with_uniform_by_seed(tmp_path: Path) -> None:
    results = hand_made_archive(tmp_path)  # uniform: plateau ends 300, 340, 320; final loss 0.01-0.03
    for name, (sampler, ends, loss) in SAMPLERS.items():
        for seed, end in enumerate(ends):
            config = {
                "seed_everything": seed,
                "trainer": {"max_steps": 800, "val_check_interval": 10},
                "data": {"n_individuals": 100, "batch_size": 4, "sampler": sampler},
            }
            summary = {
                "steps": 800,
                "seed": seed,
                "baseline_attr_loss": BASELINE,
                "plateau": {"start_step": 50, "end_step": end, "knowledge_step": end + 300},
                "final": {"val/attr_loss": loss, "val/attr_acc": 0.9},
            }
            curves = phase_curves(end, 800)
            if name == "zipf06":  # two buckets: the head leaves its plateau 100 steps before the tail
                for k, bucket_end in enumerate((end - 50, end + 50)):
                    bucket = phase_curves(bucket_end, 800)
                    curves[f"val/attr_loss/bucket_{k}"] = bucket["val/attr_loss"]
                    curves[f"val/attr_acc/bucket_{k}"] = bucket["val/attr_acc"]
            write_run(tmp_path / "dist" / f"s{seed}", f"{name}-seed={seed}", config, curves, summary)
    for seed in range(3):
        archive([tmp_path / "dist" / f"s{seed}"], results / "distributions" / f"seed_{seed}")
    table = render("distributions", results)
    rows = [
        line.split(" | ")[0] for line in table.splitlines() if line.startswith("| ") and "---" not in line
    ]
    assert rows == [
        "| sampler",
        "| uniform",
        "| Zipf α 0.6",
        "| Zipf α 1",
        "| warm-up: 25 individuals, 3 epochs",
    ]
    assert "| Zipf α 0.6 | 3 | 213 ± 15 (200, 230, 210) |" in table
    assert render("verdict.zipf_shortens_plateau", results).startswith("**reproduced**")
    assert render("verdict.zipf_one_past_optimum", results).startswith("**reproduced**")
    assert render("verdict.heavy_imbalance_hurts_final", results).startswith("**reproduced**")
    assert render("verdict.warmup_shortens_plateau", results).startswith("**reversed**")
    assert render("verdict.warmup_lowers_final_loss", results).startswith("**reproduced**")
    assert render("verdict.celebrities_shorten_plateau", results) == "not measured on the current config yet"
    buckets = render("distribution_buckets", results)
    assert "| uniform | 0 | 320 ± 20 (300, 340, 320) | – | – | – |" in buckets
    # Zipf α 0.6's curves: the whole at 200/230/210, bucket 0 at 150/180/160, bucket 1 (middle and tail)
    # at 250/280/260.
    assert "| Zipf α 0.6 | 2 | 213 ± 15 (200, 230, 210) | 163 ± 15 (150, 180, 160) | 263 ± 15" in buckets
    # Issue 16 (d): the head (163 on average) against uniform's whole population (320).
    assert render("verdict.zipf_head_leaves_early_0.6", results).startswith(
        "**reproduced** (3/3 seeds in the predicted direction; mean difference -157"
    )
    assert render("verdict.zipf_head_leaves_early_0.4", results) == "not measured on the current config yet"


def write_panel(run_dir: Path, thresholds: tuple[int, int], buckets=(0, 0), roles=("train", "train")) -> None:
    """Two panel individuals seen once per evaluation (0 ... 20 exposures), each knowing both attributes
    from its threshold on: the 50 % point of individual i alone is thresholds[i] - 0.5."""
    write_member(run_dir / PANEL, header(("a", "b")), append=False)
    for e in range(21):
        known = np.array([[e >= t] * 2 for t in thresholds])
        rows = format_rows(10 * e, np.array([0, 1]), np.array(roles), np.array(buckets), np.array([e, e]),
                           known, np.zeros((2, 2)))  # fmt: skip
        write_member(run_dir / PANEL, rows, append=True)


def panel_run(root: Path, name: str, seed: int, config: dict, thresholds, **panel) -> None:
    config = {"seed_everything": seed, "trainer": {"max_steps": 200, "val_check_interval": 10}, **config}
    summary = {"steps": 200, "seed": seed, "baseline_attr_loss": BASELINE, "final": {"val/attr_loss": 1.0}}
    run_dir = write_run(root / f"s{seed}", name, config, phase_curves(100, 200), summary)
    write_panel(run_dir, thresholds, **panel)


def test_panel_answers_compare_fifty_percent_points_by_seed(tmp_path: Path) -> None:
    logs, results = tmp_path / "logs", tmp_path / "results"
    zipf08 = {"class_path": "factdyn.data.Zipf", "init_args": {"alpha": 0.8}}
    zipf04 = {"class_path": "factdyn.data.Zipf", "init_args": {"alpha": 0.4}}
    for seed in range(3):
        data = {"n_individuals": 100, "batch_size": 4}
        panel_run(logs / "q", "quickstart", seed, {"data": data}, (10 + seed, 10 + seed))
        panel_run(logs / "d", f"zipf08-seed={seed}", seed, {"data": {**data, "sampler": zipf08}},
                  (4 + seed, 14), buckets=(0, 1))  # fmt: skip
        panel_run(logs / "d", f"zipf04-seed={seed}", seed, {"data": {**data, "sampler": zipf04}},
                  (10 + seed, 10 + seed), buckets=(0, 1))  # fmt: skip
        ft = {"data": {**data, "n_new": 125, "sampler": {"init_args": {"replay_weight": 0.0}}}}
        panel_run(logs / "f", f"ft-seed={seed}", seed, ft, (15, 16), roles=("new", "train"), buckets=(0, 1))
        for kind, experiment in (("q", "quickstart"), ("d", "distributions"), ("f", "finetuning")):
            archive([logs / kind / f"s{seed}"], results / experiment / f"seed_{seed}")
    table = render("panel_samplers", results)
    assert "| uniform | 3 | 10.5 ± 1 (9.5, 10.5, 11.5) | – |" in table  # one bucket: no head
    assert "| Zipf α 0.8 | 3 | 5 ± 1 (4, 5, 6) | 4.5 ± 1 (3.5, 4.5, 5.5) | 13.5 ± 0 |" in table
    assert render("verdict.panel_head_zipf08", results).startswith("**earlier** (3/3 seeds earlier;")
    assert render("verdict.panel_head_zipf04", results).startswith("**no difference beyond the seed spread**")
    assert render("verdict.panel_head_warmup", results) == "not measured on the current config yet"
    assert "| fine-tuning: 125 new individuals, no replay | 3 | 14.5 ± 0 (14.5, 14.5, 14.5) |" in render(
        "panel_finetuning", results
    )
    assert render("verdict.panel_new_after_pretraining", results).startswith("**more** (3/3 seeds more;")


@pytest.mark.parametrize(("exponent", "outcome"), [(0.8, "reproduced"), (1.1, "not reproduced")])
@pytest.mark.parametrize("experiment", ["plateau_vs_n", "plateau_vs_n_constant"])
def test_plateau_vs_n_fits_the_archived_seeds_and_judges_the_exponent(
    tmp_path: Path, exponent: float, outcome: str, experiment: str
) -> None:
    for seed in range(3):
        for n in (1000, 2000, 4000, 8000):
            end = int(round(0.5 * n**exponent * (1 + 0.02 * (seed - 1)) / 10) * 10)  # ±2 % between seeds
            run_dir = pretraining_run(tmp_path / "logs" / f"s{seed}", f"n{n}", n, seed, end)
            if n in (1000, 8000):  # knowledge panels at two N: known later at the larger
                offset = 10 if n == 1000 else 15
                write_panel(run_dir, (offset + seed, offset + seed))
        archive([tmp_path / "logs" / f"s{seed}"], tmp_path / "results" / experiment / f"seed_{seed}")
    results = tmp_path / "results"
    table = render(experiment, results)
    assert "| 1,000 | 3 |" in table and "(extrapolated)" in table  # below the paper's N range
    assert f"· N^{exponent:.2f} steps of batch 32" in table and "bootstrap interval" in table
    rows = {line.split(" | ")[0]: line for line in table.splitlines() if line.startswith("| ")}
    assert rows["| 1,000"].endswith("| 10.2 ± 1 (9.2, 10.2, 11.2) | 10.5 ± 1 (9.5, 10.5, 11.5) |")
    assert rows["| 4,000"].endswith("| – | – |")
    assert render(f"verdict.{experiment}", results).startswith(f"**{outcome}**")
    across = render("verdict.panel_across_n", results)  # a question of the constant-lr sweep only
    assert (
        across.startswith("**more** (3/3 seeds more")
        if experiment == "plateau_vs_n_constant"
        else (across == "not measured on the current config yet")
    )
    other = {"plateau_vs_n": "plateau_vs_n_constant", "plateau_vs_n_constant": "plateau_vs_n"}[experiment]
    assert render(f"verdict.{other}", results) == "not measured on the current config yet"


def test_robustness_rows_and_verdicts_on_hand_made_runs(tmp_path: Path) -> None:
    results = hand_made_archive(tmp_path)  # the quickstart: 20 templates, three phases, final loss <= 0.03
    shapes = {  # name -> (data and model config, final val/attr_loss, knowledge step or None)
        "t1": ({"data": {"n_templates_train": 1}}, 4.0, 600),
        "t2": ({"data": {"n_templates_train": 2}}, 0.1, 700),
        "fixed": ({"data": {"n_templates_train": 16, "shuffle_sentences": False}}, 0.95 * BASELINE, None),
        "hawk": ({"model": {"config": {"sequence_mixer": "hawk"}}}, 0.05, 650),
    }
    for name, (extra, loss, knowledge) in shapes.items():
        for seed in range(3):
            config = {"seed_everything": seed, "trainer": {"max_steps": 800, "val_check_interval": 10}}
            config["data"] = {"n_individuals": 100, "batch_size": 4, **extra.get("data", {})}
            config["model"] = extra.get("model", {})
            plateau = {"start_step": 50, "end_step": 300 if knowledge else None, "knowledge_step": knowledge}
            summary = {"steps": 800, "seed": seed, "baseline_attr_loss": BASELINE, "plateau": plateau,
                       "final": {"val/attr_loss": loss + 0.01 * seed, "val/attr_acc": 0.5}}  # fmt: skip
            write_run(
                tmp_path / "rob" / f"s{seed}", f"{name}-seed={seed}", config, phase_curves(300, 800), summary
            )
    for seed in range(3):
        archive([tmp_path / "rob" / f"s{seed}"], results / "robustness" / f"seed_{seed}")
    table = render("robustness", results)
    names = [line.split(" | ")[0] for line in table.splitlines()[2:] if line.startswith("| ")]
    assert names == [
        "| 1 template",
        "| 2 templates",
        "| 20 templates (the quickstart)",
        "| 16 templates, fixed order",
        "| 20 templates, Hawk",
    ]
    assert "| 16 templates, fixed order | 3 | 0/3 |" in table and "| 2 templates | 3 | 3/3 |" in table
    assert render("verdict.templates_robust", results) == "**reproduced** (2 templates: 3/3 seeds)"
    assert render("verdict.one_template_no_generalisation", results).startswith("**reproduced**")
    assert render("verdict.fixed_order_never_learns", results).startswith("**reproduced**")
    assert render("verdict.hawk_three_phases", results).startswith("**reproduced**")


def test_substrate_pairs_each_cell_with_its_seeds_and_asks_about_name_grouping(tmp_path: Path) -> None:
    """Word x learned is the quickstart reference; the other cells come from results/substrate."""
    results = tmp_path / "results"
    cells = {  # (tokenizer, positions) -> (rise of layer 0's name->name, seeds)
        ("word", "rotary"): (0.0, range(3)),
        ("subword", "learned"): (0.5, range(3)),
        ("subword", "rotary"): (0.5, range(2)),
    }
    for seed in range(3):
        attention_run(tmp_path / "ref" / f"s{seed}", f"reference-seed={seed}", seed)
        archive([tmp_path / "ref" / f"s{seed}"], results / "quickstart" / f"seed_{seed}")
        for (tokenizer, positions), (rise, seeds) in cells.items():
            if seed in seeds:
                extra = {"data": {"tokenizer": tokenizer}, "model": {"config": {"positions": positions}}}
                root = tmp_path / "sub" / f"s{seed}"
                attention_run(
                    root, f"{tokenizer}-{positions}-seed={seed}", seed, grouping=rise, extra_config=extra
                )
    for seed in range(3):
        archive([tmp_path / "sub" / f"s{seed}"], results / "substrate" / f"seed_{seed}")
    table = render("substrate_attention", results)
    labels = [line.split(" | ")[0].lstrip("| ") for line in table.splitlines()[2:] if line.startswith("| ")]
    assert list(dict.fromkeys(labels)) == [
        "word, learned (the quickstart)", "word, rotary", "subword, learned", "subword, rotary"
    ]  # fmt: skip
    assert "| subword, learned | 3 | name_to_name | 0 | 0.30 ± 0.00 (0.30, 0.30, 0.30) |" in table
    assert "| 0.80 ± 0.00 (0.80, 0.80, 0.80) |" in table  # its end of training
    assert "| subword, rotary | 2 |" in render("substrate_dynamics", results)
    assert render("verdict.name_grouping_subword_learned", results).startswith("**reproduced**")
    assert render("verdict.name_grouping_word_rotary", results).startswith("**not reproduced**")
    assert render("verdict.name_grouping_subword_rotary", results).startswith("**too few seeds**")


def test_finetuning_drop_rows_and_questions_join_section_5s_runs(tmp_path: Path) -> None:
    results = tmp_path / "results"
    assert "Not measured" in render("finetuning_drop", results)
    cells = {  # (moments kept, lr, replay) -> whether old accuracy collapses
        (False, 2e-4, 0.0): True, (False, 2e-4, 0.25): True,  # §5's runs (results/finetuning)
        (True, 2e-5, 0.0): True, (True, 2e-5, 0.25): False,
        (False, 2e-5, 0.25): True,
    }  # fmt: skip
    for seed in range(3):
        for (kept, lr, weight), collapse in cells.items():
            experiment = "finetuning" if (kept, lr) == (False, 2e-4) else "finetuning_drop"
            extra = {
                "model": {"lr": lr, "init_optimizer_state": kept},
                "data": {
                    "sampler": {"class_path": "factdyn.data.Replay", "init_args": {"replay_weight": weight}}
                },
            }
            root = tmp_path / experiment / f"s{seed}"
            finetune_run(
                root, f"{kept}-{lr}-{weight}-seed={seed}", seed, 125, collapse=collapse, extra_config=extra
            )
    for experiment in ("finetuning", "finetuning_drop"):
        for seed in range(3):
            archive([tmp_path / experiment / f"s{seed}"], results / experiment / f"seed_{seed}")
    table = render("finetuning_drop", results)
    rows = [line.split(" | ")[:3] for line in table.splitlines()[2:] if line.startswith("| ")]
    assert rows == [
        ["| fresh moments, lr 0.0002 (§5)", "0", "3"],
        ["| fresh moments, lr 0.0002 (§5)", "0.25", "3"],
        ["| fresh moments, lr 2e-05", "0.25", "3"],
        ["| kept moments, lr 2e-05", "0", "3"],
        ["| kept moments, lr 2e-05", "0.25", "3"],
    ]
    assert "1,000 steps" in table
    assert render("verdict.replay_drop_fresh_lr_2e-05", results).startswith("**reproduced**")
    assert render("verdict.replay_drop_kept_lr_2e-05", results).startswith("**not reproduced**")
    assert render("verdict.replay_drop_kept_lr_0.0002", results) == "not measured on the current config yet"


def test_fixed_order_reads_the_shuffled_evaluations_and_feeds_section_7(tmp_path: Path) -> None:
    """§9 (b): each run's own (fixed-order) curve against its eval/ records on shuffled biographies; the
    learned-positions runs are §7's fixed-order row too."""
    results = tmp_path / "results"
    assert "Not measured" in render("fixed_order", results)
    cells = {  # positions -> (final fixed-order loss, final shuffled loss, plateau end)
        "learned": (0.05, 1.5 * BASELINE, 300),
        "rotary": (0.95 * BASELINE, 0.95 * BASELINE - 0.01, None),  # shuffled - fixed: -0.01, 0, +0.01
    }
    for seed in range(3):
        for positions, (fixed, shuffled, end) in cells.items():
            config = {
                "seed_everything": seed,
                "trainer": {"max_steps": 800},
                "data": {
                    "n_individuals": 100,
                    "batch_size": 4,
                    "n_templates_train": 16,
                    "shuffle_sentences": False,
                },
                "model": {"config": {"positions": positions}},
            }
            plateau = {"start_step": 50, "end_step": end, "knowledge_step": end and end + 100}
            summary = {"steps": 800, "seed": seed, "baseline_attr_loss": BASELINE, "plateau": plateau,
                       "final": {"val/attr_loss": fixed + 0.01 * seed, "val/attr_acc": 0.5}}  # fmt: skip
            run_dir = write_run(
                tmp_path / "fo" / f"s{seed}",
                f"{positions}-seed={seed}",
                config,
                phase_curves(300, 800),
                summary,
            )
            for step, loss in ((400, 2 * BASELINE), (800, shuffled + 0.02 * seed)):
                record = {"evaluation": "validate-shuffle_sentences=true", "step": step,
                          "metrics": {"val/attr_loss": loss, "val/attr_acc": 0.1}}  # fmt: skip
                record_evaluation(run_dir, record)
    for seed in range(3):
        archive([tmp_path / "fo" / f"s{seed}"], results / "fixed_order" / f"seed_{seed}")
    table = render("fixed_order", results)
    rows = [line.split(" | ") for line in table.splitlines()[2:] if line.startswith("| ")]
    assert [(r[0], r[1]) for r in rows] == [("| learned", "3"), ("| rotary", "3")]
    assert "9.020 ± 0.020 (9.000, 9.020, 9.040)" in rows[0]  # the shuffled loss at the final step
    assert rows[0][-1].startswith("2 ")  # two checkpoints measured shuffled
    assert render("verdict.fixed_order_learns_learned", results).startswith("**reproduced**")
    assert render("verdict.fixed_order_learns_rotary", results).startswith("**not reproduced**")
    assert render("verdict.fixed_order_shuffled_learned", results).startswith("**higher when shuffled**")
    assert render("verdict.fixed_order_shuffled_rotary", results).startswith(f"**{NO_DIFFERENCE}**")
    robustness = render("robustness", results)
    assert "| 16 templates, fixed order | 3 |" in robustness
    assert render("verdict.fixed_order_never_learns", results).startswith("**not reproduced**")
