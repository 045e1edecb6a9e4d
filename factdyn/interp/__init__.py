"""Interpretability logic, Lightning-free: attention statistics of the recall circuit, attention patching."""
