"""Positional encodings as numbers to plot: why a transformer knows word order."""

from __future__ import annotations

import numpy as np

from .tiny.model import sinusoidal_positions


def sinusoidal(n_positions: int, dim: int, base: float = 10000.0) -> np.ndarray:
    """(n_positions, dim): PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(pos / base^(2i/d))."""
    if n_positions < 1 or dim < 2 or not base > 1:
        raise ValueError("Positions and width must be at least 1 and 2, and the base above 1.")
    return sinusoidal_positions(int(n_positions), int(dim), float(base)).numpy()
