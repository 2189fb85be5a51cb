"""The preprocessing's visual checks: world-aligned planes, the mask outline and the
template's edges, as small PNGs."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from hyperfusion.data.templates import load_brain_mask, load_template
from hyperfusion.viz import scan_qc
from hyperfusion.viz.slice_images import png_bytes


def _cube(
    shape=(40, 50, 30), voxel=(2.0, 1.0, 1.5)
) -> tuple[nib.Nifti1Image, np.ndarray]:
    affine = np.diag([*voxel, 1.0])
    affine[:3, 3] = -(np.asarray(shape) - 1) / 2 * np.asarray(voxel)
    mask = np.zeros(shape, dtype=bool)
    mask[10:30, 15:35, 8:22] = True
    return nib.Nifti1Image(mask.astype(np.float32) * 100, affine), mask


def test_world_plane_samples_world_coordinates() -> None:
    img, _ = _cube()
    data = np.asarray(img.dataobj)
    bounds = scan_qc.world_bounds(data.shape, img.affine, np.zeros(3))
    plane = scan_qc.world_plane(data, img.affine, "axial", np.zeros(3), bounds, 0)
    # 1 mm pixels across x (2 mm voxels) and y (1 mm voxels)
    extent = (np.asarray(data.shape) - 1) * np.diag(img.affine)[:3]
    assert plane.shape == (int(extent[1]) + 1, int(extent[0]) + 1)
    inside_mm = (20 * 2.0, 20 * 1.0)  # the cube's extent along x and y
    hot = plane > 50
    assert abs(hot.any(axis=0).sum() - inside_mm[0]) <= 2
    assert abs(hot.any(axis=1).sum() - inside_mm[1]) <= 2


def test_the_mask_outline_traces_the_mask_boundary() -> None:
    img, mask = _cube()
    rgb = scan_qc.mask_outline_rgb(img, mask)
    red = (rgb == scan_qc.MASK_COLOUR).all(axis=-1)
    assert red.sum() > 100
    grey = rgb[~red]
    assert (grey[:, 0] == grey[:, 1]).all()  # only the outline is coloured


def test_the_template_edges_are_drawn_over_any_registered_image() -> None:
    template = load_template(2)
    brain = np.asarray(load_brain_mask(2).dataobj) > 0
    aligned = scan_qc.template_edges_rgb(template, template, brain)
    shifted_img = nib.Nifti1Image(
        np.asarray(template.dataobj), template.affine @ _shift(12.0)
    )
    shifted = scan_qc.template_edges_rgb(shifted_img, template, brain)
    edge = (aligned == scan_qc.EDGE_COLOUR).all(axis=-1)
    assert edge.sum() > 200
    assert (edge == (shifted == scan_qc.EDGE_COLOUR).all(axis=-1)).all()
    assert (aligned[~edge] != shifted[~edge]).any()  # the image moved beneath


def _shift(mm: float) -> np.ndarray:
    out = np.eye(4)
    out[0, 3] = mm
    return out


def test_the_images_stay_small() -> None:
    template = load_template(1)
    brain = np.asarray(load_brain_mask(1).dataobj) > 0
    assert len(scan_qc.template_edges_png(template)) < 150_000
    assert len(scan_qc.mask_outline_png(template, brain)) < 150_000
    assert png_bytes(scan_qc.montage([np.zeros((3, 4, 3), np.uint8)] * 3))[:4] == (
        b"\x89PNG"
    )


def test_edges_and_outlines_of_empty_inputs_are_empty() -> None:
    assert not scan_qc.edges(np.zeros((8, 8))).any()
    assert not scan_qc.outline(np.zeros((8, 8), bool)).any()
