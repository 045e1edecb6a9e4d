"""factdyn: watch a language model learn facts (Zucchet et al. 2025, arXiv 2503.21676) with Lightning."""

__version__ = "0.1.0"
