"""The model: a plain ``nn.Module`` with no dependency on the data pipeline or Lightning."""

from factdyn.model.hooks import HookPoint, hook_points, hooks, pattern_hook_names, run_with_patterns
from factdyn.model.transformer import Transformer, TransformerConfig

__all__ = [
    "HookPoint",
    "Transformer",
    "TransformerConfig",
    "hook_points",
    "hooks",
    "pattern_hook_names",
    "run_with_patterns",
]
