"""Learning-curve logic with neither torch nor Lightning: the three phases of fact learning."""
