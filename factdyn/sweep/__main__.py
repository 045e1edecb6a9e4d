"""``python -m factdyn.sweep ...``: the same program as ``factdyn sweep ...``."""

import sys

from factdyn.sweep.command import main

sys.exit(main())
