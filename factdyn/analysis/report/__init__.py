"""``factdyn report``: the paper's figures (PNG) and a Markdown table from run directories.

    factdyn report logs/sweeps/plateau_vs_n_quickstart [more dirs...] --out reports/plateau_vs_n

Reads only ``summary.json``, ``sampler.json``, ``config.yaml`` and TensorBoard events (no training code). Runs
are grouped by what varies between them (read from each run's saved ``config.yaml``); runs that differ only
in ``seed_everything`` are the seeds of one group (:mod:`.seeds`; ``data.seed`` follows the seed, so it sets
the population, the template split, the data stream and the initialisation together). Curves are the mean
over seeds with a min–max band, tables give mean ± s.d. and every seed's value. The sampler and its α are
the run's own record (``sampler.json``). Every figure is drawn only when its runs exist, with every group:

======================= =========================================================== ======================
file                    what                                                        needs
======================= =========================================================== ======================
curves.png              attribute loss (log) and accuracy vs steps, baseline,       any run with val curves
                        plateau start/end of each seed marked (Fig. 2 L/M)
plateau_vs_n.png        plateau end vs N in exposures per individual and in steps,  >= 3 N with a plateau
                        the paper's fit over its N range (Fig. 2 right)             end
heatmaps.png            plateau end over N × α; best α over N × steps (Fig. 4 L/M)  >= 2 N (or steps) × 2 α
hallucinations.png      seen vs unseen loss, accuracy, max prob., entropy, a row    runs with unseen/ curves
                        per group (Fig. 5 left, Fig. M)
finetuning.png          old and new accuracy and loss vs fine-tuning step from the  fine-tuning runs
                        pre-trained model at step 0 (Fig. N)
finetuning_trajectories fine-tuning loss vs pre-training loss (Fig. 5 M/R)          fine-tuning runs
patching.png            attribute loss vs steps per reference step (Fig. 3 middle)  attention-patching runs
attention.png           name→name (layer 0), attribute→name, attribute→text (last   attention statistics
                        layer) vs steps (Fig. 3 R)
attention_layers.png    every statistic incl. entropy, a line per layer (Fig. F)    attention statistics
======================= =========================================================== ======================

Layers are numbered from 0 everywhere, as in the logged tags ``attn/<statistic>/layer_<l>``.

Modules: ``run_info`` (loading runs, factors, grouping), ``seeds`` (seed groups, statistics and curves over
seeds), ``measures`` (the per-run quantities of the tables), ``aggregates`` (grids, fine-tuning tags,
attention tags), ``plateau_fit`` (plateau end vs N with the exponent's bootstrap interval), ``plotting``
(matplotlib plumbing), ``figures_phases`` / ``figures_new_individuals`` / ``figures_attention`` (the PNGs),
``markdown`` / ``markdown_results`` / ``md_table`` (the text of ``report.md``), ``command``
(:func:`make_report`, :func:`main`).
"""

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
