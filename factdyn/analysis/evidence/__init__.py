"""The evidence behind REPRODUCTION.md and the README: tables and verdicts generated from the committed
results archive (``results/``, written by ``factdyn archive``) into marked blocks of hand-written Markdown
(``factdyn evidence``)."""

from factdyn.analysis.evidence.command import main

__all__ = ["main"]
