"""``factdyn report``: the paper's figures (PNG) and a Markdown table from run directories.

    factdyn report logs/sweeps/plateau_vs_n_quickstart [more dirs...] --out reports/plateau_vs_n

Reads only ``summary.json``, ``sampler.json``, ``config.yaml`` and TensorBoard events (no training code). Runs
are grouped by what varies between them (read from each run's saved ``config.yaml``); the sampler and its α
are the run's own record (``sampler.json``). Every figure is drawn only when its runs exist:

================== ================================================================ ========================
file               what                                                             needs
================== ================================================================ ========================
curves.png         attribute loss (log) and accuracy vs steps, baseline (Fig. 2 L/M) any run with val curves
plateau_vs_n.png   plateau end vs N, log–log, fitted power law (Fig. 2 right)       >= 3 N with a plateau end
heatmaps.png       plateau end over N × α; best α over N × steps (Fig. 4 L/M)       >= 2 N (or steps) × 2 α
hallucinations.png seen vs unseen loss, accuracy, max prob., entropy (Fig. M)       runs with unseen/ curves
finetuning.png     fine-tuning loss vs pre-training loss trajectories (Fig. 5 M/R)  runs with old/new curves
patching.png       attribute loss vs steps per reference step (Fig. 3 middle)       attention-patching runs
attention.png      name→name, attribute→name, attribute→text vs steps (Fig. 3 R)    attention statistics
panel.png          P(known | exposures), points per bin, facts known for good       runs with panel.csv.gz
================== ================================================================ ========================

Modules: ``run_info`` (loading runs, factors, grouping), ``aggregates`` (fits, grids, mean curves),
``plotting`` (matplotlib plumbing), ``figures_phases`` / ``figures_new_individuals`` / ``figures_attention``
(the PNGs), ``markdown`` (the text of ``report.md``), ``command`` (:func:`make_report`, :func:`main`);
``figures_panel`` draws ``panel.png`` and writes the knowledge panel's section of ``report.md``.
"""

from factdyn.analysis.report.command import Report, main, make_report
from factdyn.analysis.report.run_info import RunInfo, load_runs, varying_keys

__all__ = ["Report", "RunInfo", "load_runs", "main", "make_report", "varying_keys"]
