"""Occlusion with healthy infill, through captum's ``FeatureAblation``: each patch of
the image in turn becomes the same patch of the healthy baseline, and the map holds
the change of the explained output it causes (ΔP, or years), one value per patch.

Patches tile each view of the image: :data:`PATCHES` parts along x, y and z (AD: 24
x 24 x 24 mm on the 3 mm hemisphere crop, 72 patches over both hemispheres; brain age:
48 x 46 x 45 mm on the 4 mm whole-brain grid). Patches without brain in either image
share one label, so they cost one pass in all (their effect is exactly 0). Changing one
view leaves the others' outputs as they were, so each patch costs one forward pass
of one view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from hyperfusion.config import Grid

PATCHES = (3, 4, 3)  # parts along x, y, z of each view
ViewForward = Callable[[int, Tensor], Tensor]  # (view, (k, X, Y, Z)) -> (k,)


def patch_labels(shape: Sequence[int], parts: Sequence[int] = PATCHES) -> np.ndarray:
    """Labels ``0 .. prod(parts) - 1`` tiling a volume into near-equal boxes.

    >>> patch_labels((4, 2, 1), (2, 1, 1))[:, 0, 0].tolist()
    [0, 0, 1, 1]
    """
    index = [np.arange(n) * p // n for n, p in zip(shape, parts, strict=True)]
    ix, iy, iz = np.meshgrid(*index, indexing="ij")
    return ((ix * parts[1] + iy) * parts[2] + iz).astype(np.int64)


def view_labels(
    image: np.ndarray, baseline: np.ndarray, parts: Sequence[int] = PATCHES
) -> np.ndarray:
    """One view's patch labels, ``-1`` for patches without brain in the image or
    the baseline (all relabelled so captum ablates them as one feature)."""
    labels = patch_labels(image.shape, parts)
    brain = (image != 0) | (baseline != 0)
    used = np.unique(labels[brain])
    out = np.full(labels.shape, -1, dtype=np.int64)
    for new, old in enumerate(used):
        out[labels == old] = new
    return out


def occlusion(
    forward: ViewForward,
    views: Tensor,
    baseline: Tensor,
    parts: Sequence[int] = PATCHES,
    progress: Callable[[float], None] | None = None,
) -> tuple[Tensor, np.ndarray]:
    """ΔP (or Δ years) per patch: ``f(image) - f(image with the patch healthy)``.

    Args:
        forward: the explained output with view ``v`` replaced by each of a batch.
        views: ``(V, X, Y, Z)``; baseline: the same shape.
        parts: patches per axis.
        progress: called with the share of views done.

    Returns:
        The map ``(V, X, Y, Z)`` and the labels ``(V, X, Y, Z)`` (``-1``: no brain).
    """
    from captum.attr import FeatureAblation  # captum takes ~0.45 s to import

    maps, labels = [], []
    for v in range(views.shape[0]):
        lab = view_labels(views[v].cpu().numpy(), baseline[v].cpu().numpy(), parts)
        mask = torch.from_numpy(lab + 1).to(views.device)[None]  # captum: >= 0
        ablate = FeatureAblation(lambda x, v=v: forward(v, x))
        with torch.no_grad():
            attr = ablate.attribute(
                views[v][None],
                baselines=baseline[v][None],
                feature_mask=mask,
                perturbations_per_eval=int(mask.max()) + 1,
            )
        maps.append(attr[0].detach())
        labels.append(lab)
        if progress is not None:
            progress((v + 1) / views.shape[0])
    return torch.stack(maps), np.stack(labels)


def ranked_patches(
    volume: np.ndarray, labels: np.ndarray, grid: Grid, top: int | None = None
) -> pd.DataFrame:
    """Patches by effect, largest first: ``rank``, ``side`` (of the midline, RAS
    x), the centre in MNI152 mm (``x_mm``, ``y_mm``, ``z_mm``), ``voxels`` and
    ``effect`` (the map's value there).

    ``volume`` and ``labels`` are on the task's grid (views merged; labels unique
    over views, ``-1`` for patches without brain).
    """
    rows = []
    for label in np.unique(labels[labels >= 0]):
        where = np.argwhere(labels == label)
        centre = grid.affine @ np.append(where.mean(axis=0), 1.0)
        rows.append(
            {
                "side": "right" if centre[0] >= 0 else "left",
                "x_mm": round(float(centre[0]), 1),
                "y_mm": round(float(centre[1]), 1),
                "z_mm": round(float(centre[2]), 1),
                "voxels": len(where),
                "effect": float(volume[tuple(where[0])]),
            }
        )
    df = pd.DataFrame(
        rows, columns=["side", "x_mm", "y_mm", "z_mm", "voxels", "effect"]
    )
    df = df.sort_values("effect", ascending=False, kind="stable").head(top)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df.reset_index(drop=True)


__all__ = ["PATCHES", "occlusion", "patch_labels", "ranked_patches", "view_labels"]
