"""The model: a plain ``nn.Module`` with no dependency on the data pipeline or Lightning."""

from factdyn.model.hawk import HawkMixer, linear_scan
from factdyn.model.hooks import (
    HookPoint,
    hook_points,
    hooks,
    pattern_hook_names,
    require_pattern_hooks,
    run_with_patterns,
)
from factdyn.model.positions import POSITIONS, RotaryTable, apply_rotary
from factdyn.model.transformer import Transformer, TransformerConfig

__all__ = [
    "POSITIONS",
    "HawkMixer",
    "HookPoint",
    "Transformer",
    "RotaryTable",
    "TransformerConfig",
    "apply_rotary",
    "hook_points",
    "hooks",
    "linear_scan",
    "pattern_hook_names",
    "require_pattern_hooks",
    "run_with_patterns",
]
