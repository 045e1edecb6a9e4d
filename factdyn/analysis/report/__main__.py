"""``python -m factdyn.analysis.report ...``: the same program as ``factdyn report ...``."""

from factdyn.analysis.report.command import main

main()
