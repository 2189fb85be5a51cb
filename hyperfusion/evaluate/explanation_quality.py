"""How far a map can be trusted, measured against the generator's ground truth and
against the model itself (numpy, one subject at a time).

- **mass in the region** (:func:`mass_share`): the share of the map's positive mass
  inside the true disease region; over subjects, its mean divided by the region's
  mean share of the crop (chance) is ``mass_ratio``. An empty map holds no mass
  inside.
- **pointing game** (:func:`pointing_hit`): the map's maximum lies within
  ``tolerance`` voxels (26-neighbourhood) of the region (Zhang et al. 2018).
- **deletion** (:func:`deletion_order`, :func:`curve_auc`): the explained
  probability as the top-ranked brain voxels are replaced by healthy tissue, against
  a random order (Petsiuk et al. 2018): a faithful map makes it fall faster.
- **randomisation** (:func:`spearman`): the rank correlation of a map with the same
  method's map after the network's layers after the explained one are
  re-initialised (Adebayo et al. 2018): a map that survives it does not explain the
  trained weights.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, stats


def mass_share(volume: np.ndarray, region: np.ndarray) -> float:
    """The share of ``volume``'s positive part inside ``region`` (0 when empty).

    >>> mass_share(np.array([1.0, 3.0, -5.0]), np.array([False, True, True]))
    0.75
    """
    positive = np.maximum(np.asarray(volume, dtype=np.float64), 0.0)
    total = positive.sum()
    return float(positive[region].sum() / total) if total > 0 else 0.0


def dilated(region: np.ndarray, voxels: int = 1) -> np.ndarray:
    """``region`` grown by ``voxels`` in every direction (26-neighbourhood)."""
    if voxels <= 0:
        return np.asarray(region, dtype=bool)
    structure = np.ones((3,) * np.ndim(region), dtype=bool)
    return ndimage.binary_dilation(region, structure, iterations=voxels)


def peak_voxel(volume: np.ndarray) -> tuple[int, ...] | None:
    """The voxel of the map's maximum; where several share it (an occlusion
    patch), the one nearest their centroid. None when nothing is positive.

    >>> peak_voxel(np.array([0.0, 2.0, 2.0, 2.0, 1.0]))
    (2,)
    """
    vol = np.asarray(volume, dtype=np.float64)
    top = vol.max() if vol.size else 0.0
    if not top > 0:
        return None
    ties = np.argwhere(vol >= top - 1e-9 * abs(top))
    nearest = np.argmin(((ties - ties.mean(axis=0)) ** 2).sum(axis=1))
    return tuple(int(i) for i in ties[nearest])


def pointing_hit(volume: np.ndarray, region: np.ndarray, tolerance: int = 1) -> bool:
    """The map's maximum lies in ``region`` grown by ``tolerance`` voxels."""
    peak = peak_voxel(volume)
    return peak is not None and bool(dilated(region, tolerance)[peak])


def deletion_order(
    volume: np.ndarray, brain: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Flat indices of the brain voxels, highest map value first; ties (a flat
    patch, the zeros of a ReLU map) in random order."""
    where = np.flatnonzero(brain)
    values = np.asarray(volume, dtype=np.float64).ravel()[where]
    shuffle = rng.permutation(len(where))
    return where[shuffle][np.argsort(-values[shuffle], kind="stable")]


def deletion_images(
    views: np.ndarray, baseline: np.ndarray, order: np.ndarray, fractions: np.ndarray
) -> np.ndarray:
    """``views`` with the first ``fraction`` of ``order`` replaced by the baseline,
    one image per fraction: ``(K, *views.shape)``."""
    out = np.repeat(views[None].astype(np.float32), len(fractions), axis=0)
    flat_out = out.reshape(len(fractions), -1)
    flat_base = baseline.astype(np.float32).ravel()
    for k, share in enumerate(fractions):
        idx = order[: int(round(share * len(order)))]
        flat_out[k, idx] = flat_base[idx]
    return out


def curve_auc(fractions: np.ndarray, values: np.ndarray) -> float:
    """The area under a curve over ``fractions`` in [0, 1] (trapezoids).

    >>> curve_auc(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    0.5
    """
    x, y = np.asarray(fractions, np.float64), np.asarray(values, np.float64)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


def spearman(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float | None:
    """Spearman's rank correlation of two maps over ``where`` (None when either
    map is constant there)."""
    x, y = np.ravel(a)[np.ravel(where)], np.ravel(b)[np.ravel(where)]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(stats.spearmanr(x, y).statistic)


__all__ = [
    "curve_auc",
    "deletion_images",
    "deletion_order",
    "dilated",
    "mass_share",
    "peak_voxel",
    "pointing_hit",
    "spearman",
]
