"""``factdyn report``: the paper's figures (PNG) and a Markdown table from run directories.

    factdyn report logs/sweeps/plateau_vs_n_quickstart [more dirs...] --out reports/plateau_vs_n

Reads only ``summary.json``, ``sampler.json``, ``config.yaml``, ``eval/evaluations.jsonl`` and TensorBoard
events (no training code). Runs are grouped by what varies between them (read from each run's saved
``config.yaml``); runs that differ only in ``seed_everything`` are the seeds of one group (:mod:`.seeds`;
``data.seed`` follows the seed, so it sets the population, the template split, the data stream and the
initialisation together). Curves are the mean over seeds with a min–max band, tables give mean ± s.d. and
every seed's value. The sampler and its α are the run's own record (``sampler.json``); a run's checkpoint
evaluations are its ``eval/evaluations.jsonl``.
Every figure is drawn only when its runs exist, with every group (:func:`.command.figure_drawers`, captions in
:data:`.markdown.CAPTIONS`): ``curves``, ``evaluations``, ``plateau_vs_n``, ``heatmaps``, ``hallucinations``,
``finetuning``, ``finetuning_trajectories``, ``patching``, ``attention``, ``attention_layers``, ``panel``."""

from factdyn.analysis.report.command import Report, main, make_report
from factdyn.analysis.report.run_info import RunInfo, load_runs, varying_keys
from factdyn.analysis.report.seeds import BAND, SeedGroup, SeedStat, seed_groups, seed_stat

__all__ = [
    "BAND",
    "Report",
    "RunInfo",
    "SeedGroup",
    "SeedStat",
    "load_runs",
    "main",
    "make_report",
    "seed_groups",
    "seed_stat",
    "varying_keys",
]
