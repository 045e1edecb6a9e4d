"""Helpers shared by the test files (not tests themselves).

``runs``: paths of the shipped configs and the tiny-run CLI arguments. ``individual_recorders``,
``fault_callbacks``: test-only Lightning callbacks, also named by dotted path on the ``factdyn`` command
line (``--trainer.callbacks+=tests.helpers.fault_callbacks.PoisonLossAt``), so the repository root must be
importable (it is under pytest; subprocesses get ``PYTHONPATH=<repo>``). ``fake_trainer``: a stand-in
``Trainer`` for driving callbacks hook by hook.
"""
