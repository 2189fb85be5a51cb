"""What an explanation returns: the map on the task grid with its units and sign.

CAM-family maps have no natural unit and are scaled to their peak (1 = the voxel
with the most evidence); Integrated Gradients are in the output's own units per
voxel (ΔP or years; they sum to the change from the healthy brain); occlusion in the
change of the output when a patch turns healthy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hyperfusion.explain.methods import get_method


@dataclass(frozen=True)
class ExplanationMap:
    """One method's map of one output for one image and EHR (ensemble mean).

    Attributes:
        method: a name of :data:`~hyperfusion.explain.methods.METHODS`.
        target: a class (``"AD"``) or ``"brain-age"``.
        volume: ``(X, Y, Z)`` float32 on the task's grid (the full crop for AD).
        units: what a value of ``volume`` means, for the colour bar.
        signed: negative values are evidence against ``target``; unsigned maps
            hold no negative value.
        layer: the module explained (``"input"`` for the image).
        total: the sum the map adds up to (Integrated Gradients: the change of
            the output from the healthy brain), or None.
        regions: occlusion's patches, largest effect first (``rank``, ``side``,
            ``x_mm``, ``y_mm``, ``z_mm``, ``effect``), or None.
    """

    method: str
    target: str
    volume: np.ndarray
    units: str
    signed: bool
    layer: str
    total: float | None = None
    regions: pd.DataFrame | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """The method's label."""
        return get_method(self.method).label

    @property
    def peak(self) -> float:
        """The largest ``|value|`` (0 for an empty map)."""
        return float(np.abs(self.volume).max()) if self.volume.size else 0.0

    def scaled(self) -> np.ndarray:
        """The map divided by :attr:`peak`: in [0, 1], or [-1, 1] when signed."""
        peak = self.peak
        return (self.volume / peak if peak > 0 else self.volume).astype(np.float32)


def peak_scaled(volume: np.ndarray) -> np.ndarray:
    """``volume / max|volume|`` as float32 (unchanged when all zero).

    >>> peak_scaled(np.array([0.0, -2.0, 1.0])).tolist()
    [0.0, -1.0, 0.5]
    """
    peak = float(np.abs(volume).max()) if np.size(volume) else 0.0
    return (np.asarray(volume) / peak if peak > 0 else np.asarray(volume)).astype(
        np.float32
    )


__all__ = ["ExplanationMap", "peak_scaled"]
