"""The preprocessing's visual checks, as compact PNG images (no Streamlit).

- :func:`mask_outline_png`: three orthogonal planes of the scan as read, with the
  brain mask's outline drawn over them (did the extraction keep the brain, and only
  the brain?);
- :func:`template_edges_png`: the same planes of the registered brain with the
  MNI152 template's edges drawn over them (does the brain sit where the template's
  does?).

Planes are sampled in world (RAS mm) coordinates on a 1 mm grid, so an oblique or
anisotropic scan shows undistorted; sagittal, coronal and axial side by side, the
patient's left on the left and superior up, as the slice viewer shows them. One
image is a few tens of kilobytes of PNG.
"""

from __future__ import annotations

from collections.abc import Sequence

import nibabel as nib
import numpy as np
from scipy import ndimage

from hyperfusion.viz.slice_images import png_bytes

PLANES: tuple[str, str, str] = ("sagittal", "coronal", "axial")
# For each plane: the RAS axis it cuts, and the axes shown across and up.
PLANE_AXES: dict[str, tuple[int, int, int]] = {
    "sagittal": (0, 1, 2),
    "coronal": (1, 0, 2),
    "axial": (2, 0, 1),
}
MASK_COLOUR = (255, 70, 40)  # the brain mask's outline
EDGE_COLOUR = (0, 215, 255)  # the template's edges
GAP_PX = 6
MAX_SIDE_MM = 260.0  # a plane is cropped to this extent around the centre
EDGE_FRACTION = 0.3  # template edges: gradient above this share of its 99th centile


def _corners(shape: Sequence[int], affine: np.ndarray) -> np.ndarray:
    """World coordinates of the 8 corner voxels, ``(8, 3)``."""
    idx = np.array(
        [
            [i, j, k]
            for i in (0, shape[0] - 1)
            for j in (0, shape[1] - 1)
            for k in (0, shape[2] - 1)
        ],
        dtype=np.float64,
    )
    return idx @ np.asarray(affine)[:3, :3].T + np.asarray(affine)[:3, 3]


def world_bounds(
    shape: Sequence[int], affine: np.ndarray, centre: np.ndarray
) -> np.ndarray:
    """The world box ``(3, 2)`` of a grid, cropped to :data:`MAX_SIDE_MM` around
    ``centre``."""
    corners = _corners(shape, affine)
    low, high = corners.min(axis=0), corners.max(axis=0)
    half = MAX_SIDE_MM / 2
    return np.stack(
        [np.maximum(low, centre - half), np.minimum(high, centre + half)], 1
    )


def world_plane(
    volume: np.ndarray,
    affine: np.ndarray,
    plane: str,
    centre: np.ndarray,
    bounds: np.ndarray,
    order: int = 1,
) -> np.ndarray:
    """A world-aligned 1 mm plane through ``centre`` sampled from ``volume``:
    ``(up, across)``, row 0 the lowest coordinate; 0 outside the volume."""
    cut, across, up = PLANE_AXES[plane]
    xs = np.arange(bounds[across, 0], bounds[across, 1] + 0.5)
    ys = np.arange(bounds[up, 0], bounds[up, 1] + 0.5)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    world = np.zeros((*yy.shape, 3))
    world[..., cut], world[..., across], world[..., up] = centre[cut], xx, yy
    to_voxel = np.linalg.inv(np.asarray(affine, dtype=np.float64))
    ijk = world @ to_voxel[:3, :3].T + to_voxel[:3, 3]
    coords = np.moveaxis(ijk, -1, 0)
    return ndimage.map_coordinates(
        np.asarray(volume, dtype=np.float32), coords, order=order, cval=0.0
    )


def grey_levels(plane: np.ndarray, peak: float) -> np.ndarray:
    """A plane as uint8 grey levels, ``peak`` (and above) white."""
    scaled = np.clip(plane / max(peak, 1e-12), 0.0, 1.0) * 255.0
    return np.rint(scaled).astype(np.uint8)


def display_peak(volume: np.ndarray) -> float:
    """The intensity shown white: the 99.5th percentile of the non-zero voxels."""
    data = np.abs(np.asarray(volume, dtype=np.float32))[::2, ::2, ::2]
    nonzero = data[data > 0]
    return float(np.percentile(nonzero, 99.5)) if nonzero.size else 1.0


def outline(mask: np.ndarray, width: int = 2) -> np.ndarray:
    """The boundary pixels of a 2D mask, ``width`` pixels thick (bool)."""
    inside = np.asarray(mask, dtype=bool)
    if not inside.any():
        return inside
    return inside & ~ndimage.binary_erosion(inside, iterations=width)


def edges(plane: np.ndarray) -> np.ndarray:
    """Strong edges of a 2D image: the Sobel gradient magnitude above
    :data:`EDGE_FRACTION` of its 99th percentile (bool)."""
    data = np.asarray(plane, dtype=np.float32)
    magnitude = np.hypot(ndimage.sobel(data, 0), ndimage.sobel(data, 1))
    strong = magnitude[magnitude > 0]
    if strong.size == 0:
        return np.zeros(data.shape, dtype=bool)
    return magnitude > EDGE_FRACTION * float(np.percentile(strong, 99))


def paint(
    grey: np.ndarray, lines: np.ndarray, colour: tuple[int, int, int]
) -> np.ndarray:
    """``grey`` as RGB with ``lines`` drawn in ``colour``, ``(H, W, 3)`` uint8."""
    rgb = np.repeat(np.asarray(grey, dtype=np.uint8)[..., None], 3, axis=-1)
    rgb[np.asarray(lines, dtype=bool)] = colour
    return rgb


def montage(panels: Sequence[np.ndarray]) -> np.ndarray:
    """RGB panels side by side, bottoms aligned, on black, :data:`GAP_PX` apart
    (row 0 the lowest, as the panels)."""
    height = max(p.shape[0] for p in panels)
    width = sum(p.shape[1] for p in panels) + GAP_PX * (len(panels) - 1)
    out = np.zeros((height, width, 3), dtype=np.uint8)
    x = 0
    for p in panels:
        out[: p.shape[0], x : x + p.shape[1]] = p
        x += p.shape[1] + GAP_PX
    return out


def centre_of(mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """World centre (mm) of a 3D mask's voxels; the grid's centre when empty."""
    inside = np.asarray(mask, dtype=bool)
    if inside.any():
        ijk = np.array(ndimage.center_of_mass(inside))
    else:
        ijk = (np.asarray(inside.shape, dtype=np.float64) - 1) / 2
    return np.asarray(affine)[:3, :3] @ ijk + np.asarray(affine)[:3, 3]


def mask_outline_rgb(image: nib.Nifti1Image, mask: np.ndarray) -> np.ndarray:
    """Sagittal, coronal and axial planes of ``image`` through the mask's centre,
    with the outline of ``mask`` (bool, ``image``'s grid) in :data:`MASK_COLOUR`;
    ``(H, W, 3)`` uint8, row 0 the lowest."""
    volume = np.asarray(image.dataobj, dtype=np.float32)
    affine = np.asarray(image.affine, dtype=np.float64)
    centre = centre_of(mask, affine)
    bounds = world_bounds(volume.shape, affine, centre)
    peak = display_peak(volume)
    panels = []
    for plane in PLANES:
        grey = grey_levels(world_plane(volume, affine, plane, centre, bounds), peak)
        inside = world_plane(mask.astype(np.float32), affine, plane, centre, bounds, 0)
        panels.append(paint(grey, outline(inside > 0.5), MASK_COLOUR))
    return montage(panels)


def template_edges_rgb(
    image: nib.Nifti1Image, template: nib.Nifti1Image, brain: np.ndarray
) -> np.ndarray:
    """Sagittal, coronal and axial planes of ``image`` (in MNI152 space) on the
    ``template``'s grid, through the centre of its ``brain`` mask, with the
    template's edges in :data:`EDGE_COLOUR`; ``(H, W, 3)`` uint8, row 0 the
    lowest."""
    volume = np.asarray(image.dataobj, dtype=np.float32)
    reference = np.asarray(template.dataobj, dtype=np.float32)
    t_affine = np.asarray(template.affine, dtype=np.float64)
    centre = np.round(centre_of(brain, t_affine))
    bounds = world_bounds(reference.shape, t_affine, centre)
    peak = display_peak(volume)
    panels = []
    for plane in PLANES:
        shown = world_plane(volume, image.affine, plane, centre, bounds)
        lines = edges(world_plane(reference, t_affine, plane, centre, bounds))
        panels.append(paint(grey_levels(shown, peak), lines, EDGE_COLOUR))
    return montage(panels)


def mask_outline_png(image: nib.Nifti1Image, mask: np.ndarray) -> bytes:
    """:func:`mask_outline_rgb` as PNG bytes (superior up)."""
    return png_bytes(mask_outline_rgb(image, mask))


def template_edges_png(image: nib.Nifti1Image) -> bytes:
    """:func:`template_edges_rgb` against the 1 mm MNI152 template, as PNG bytes."""
    from hyperfusion.data.templates import load_brain_mask, load_template

    brain = np.asarray(load_brain_mask(1).dataobj) > 0
    return png_bytes(template_edges_rgb(image, load_template(1), brain))


__all__ = [
    "EDGE_COLOUR",
    "MASK_COLOUR",
    "PLANES",
    "edges",
    "mask_outline_png",
    "mask_outline_rgb",
    "montage",
    "outline",
    "template_edges_png",
    "template_edges_rgb",
    "world_plane",
]
