"""Helpers shared by the data tests: a hand-made EHR frame and a brain-like volume."""

from __future__ import annotations

import numpy as np
import pandas as pd

AFFINE_2MM = np.array(
    [[2.0, 0, 0, -20.0], [0, 2.0, 0, -24.0], [0, 0, 2.0, -18.0], [0, 0, 0, 1]]
)


def hand_frame() -> pd.DataFrame:
    """Four complete subjects whose means and spreads are easy to compute by hand."""
    return pd.DataFrame(
        {
            "PTID": ["S1", "S2", "S3", "S4"],
            "AGE": [60.0, 70.0, 80.0, 90.0],  # mean 75, var 125
            "PTGENDER": ["Female", "Male", "Female", "Male"],
            "PTEDUCAT": [12.0, 16.0, 12.0, 16.0],  # mean 14, sd 2
            "APOE4": [0.0, 1.0, 2.0, 1.0],  # mean 1, var 0.5
            "ABETA": [400.0, 800.0, 1200.0, 1600.0],  # mean 1000, var 200000
            "PTAU": [10.0, 20.0, 30.0, 40.0],  # mean 25, var 125
            "TAU": [100.0, 200.0, 300.0, 400.0],  # mean 250, var 12500
            "FDG": [1.0, 1.2, 1.4, 1.6],  # mean 1.3, var 0.05
            "AV45": [1.0, 1.5, 1.0, 1.5],  # mean 1.25, sd 0.25
            "MMSE": [30.0, 29.0, 24.0, 20.0],
            "DX": ["CN", "CN", "MCI", "AD"],
        }
    )


def volume(rng: np.random.Generator, shape=(20, 24, 18)) -> np.ndarray:
    """A brain-like float32 volume: textured ellipsoid on a zero background."""
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    inside = sum(g**2 for g in grids) < 0.8
    vol = (100 + 20 * rng.standard_normal(shape)) * inside
    return vol.astype(np.float32)
