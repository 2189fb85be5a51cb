"""Quality checks against the MNI152 template, and the offline template loaders."""

from __future__ import annotations

import dataclasses

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from hyperfusion.data import qc
from hyperfusion.data.nifti_io import load_mri
from hyperfusion.data.qc import QCReport, quality_check
from hyperfusion.data.templates import (
    load_brain_mask,
    load_gm_template,
    load_template,
    load_wm_template,
)


@pytest.fixture(scope="module")
def template_2mm() -> nib.Nifti1Image:
    return load_template(2)


def _check(data: np.ndarray, affine: np.ndarray) -> QCReport:
    """Load ``data`` with ``affine`` as a user's image would be, then check it."""
    return quality_check(load_mri(nib.Nifti1Image(data.astype(np.float32), affine)))


def _single_line(report: QCReport) -> None:
    assert report.ok is (not report.warnings)
    for warning in report.warnings:
        assert warning and "\n" not in warning


# --- templates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "loader", [load_template, load_gm_template, load_wm_template, load_brain_mask]
)
def test_templates_load_offline_and_are_memoised(loader) -> None:
    img = loader(2)
    assert img.shape == (99, 117, 95)
    np.testing.assert_allclose(img.affine[:3, 3], (-98.0, -134.0, -72.0))
    assert loader() is img and loader(resolution=2) is img
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")


def test_template_resolution_is_checked() -> None:
    with pytest.raises(ValueError, match="1 or 2"):
        load_template(3)


# --- passing images ----------------------------------------------------------------


def test_mni152_1mm_template_passes_on_one_linear_resampling_at_2mm(
    monkeypatch,
) -> None:
    img = load_mri(load_template(1))
    quality_check(load_mri(load_template(2)))  # builds the cached template reference
    # What keeps QC cheap (about 0.1 s; `python -m hyperfusion.bench` times it): the
    # 1 mm head is block-averaged to the 2 mm QC grid, then resampled once, linearly
    # without a spline prefilter, and the template reference is not rebuilt.
    resampled = []
    affine_transform = ndimage.affine_transform

    def spy(data, *args, **kwargs):
        resampled.append((data.shape, kwargs.get("order"), kwargs.get("prefilter")))
        return affine_transform(data, *args, **kwargs)

    def no_reload(*args, **kwargs):
        raise AssertionError("the template reference was rebuilt")

    monkeypatch.setattr(qc.ndimage, "affine_transform", spy)
    monkeypatch.setattr(qc, "load_template", no_reload)
    report = quality_check(img)

    assert report.ok and report.warnings == ()
    assert report.metrics["correlation"] > 0.9
    assert report.metrics["fov_coverage"] == 1.0
    assert report.metrics["voxel_mm_max"] == 1.0
    halves = tuple(n // 2 for n in img.shape[:3])  # 197 x 233 x 189 -> 98 x 116 x 94
    assert resampled == [(halves, 1, False)]


def test_template_stored_lps_passes(template_2mm) -> None:
    data = np.asarray(template_2mm.dataobj)
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    flip[:2, 3] = [data.shape[0] - 1, data.shape[1] - 1]
    lps = template_2mm.affine @ flip
    img = load_mri(nib.Nifti1Image(data[::-1, ::-1].copy(), lps))

    report = quality_check(img)

    assert img.extra["original_axcodes"] == ("L", "P", "S")
    assert report.ok, report.warnings
    assert report.metrics["correlation"] > 0.99


def test_report_is_frozen(template_2mm) -> None:
    report = quality_check(load_mri(template_2mm))
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.ok = False  # type: ignore[misc]


# --- images that break the contract ------------------------------------------------


def test_random_noise_is_flagged(template_2mm, rng) -> None:
    noise = rng.random(template_2mm.shape)
    report = _check(noise, template_2mm.affine)

    _single_line(report)
    assert not report.ok
    assert abs(report.metrics["correlation"]) < 0.1
    assert any("register it to MNI152" in w for w in report.warnings)


@pytest.mark.parametrize("axes", [(0, 1), (1, 2)])
def test_rotated_template_is_flagged(template_2mm, axes) -> None:
    rotated = np.rot90(np.asarray(template_2mm.dataobj), axes=axes)
    report = _check(rotated, template_2mm.affine)

    _single_line(report)
    assert not report.ok
    assert report.metrics["correlation"] < 0.6
    assert (
        "does not look like a skull-stripped T1 in MNI152 space" in (report.warnings[0])
    )


def test_shifted_template_is_flagged(template_2mm) -> None:
    shifted = template_2mm.affine.copy()
    shifted[1, 3] += 30.0  # 30 mm anterior
    report = _check(np.asarray(template_2mm.dataobj), shifted)

    assert not report.ok
    assert report.metrics["correlation"] < 0.6


def test_cropped_field_of_view_is_flagged(template_2mm) -> None:
    data = np.asarray(template_2mm.dataobj)[:, :, 40:]
    moved = template_2mm.affine @ np.array(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 40], [0, 0, 0, 1.0]]
    )
    report = _check(data, moved)

    assert report.metrics["fov_coverage"] < 0.8
    assert any("covers only" in w for w in report.warnings)


def test_head_with_skull_is_flagged(template_2mm) -> None:
    data = np.asarray(template_2mm.dataobj)
    brain = np.asarray(load_brain_mask(2).dataobj) > 0
    skull = ndimage.binary_dilation(brain, iterations=8) & ~ndimage.binary_dilation(
        brain, iterations=3
    )
    report = _check(np.where(skull, 0.8, data), template_2mm.affine)

    assert report.metrics["correlation"] > 0.9  # the brain itself is in place
    assert report.metrics["outside_brain_fraction"] > 0.3
    assert any(
        "skull-stripped" in w and "brain extraction" in w for w in report.warnings
    )


def test_permuted_axes_are_flagged_even_when_aligned(template_2mm) -> None:
    data = np.asarray(template_2mm.dataobj)
    # Store the volume as (y, z, x): voxel axis 0 runs along world y, and so on.
    perm = np.zeros((4, 4))
    perm[1, 0] = perm[2, 1] = perm[0, 2] = perm[3, 3] = 1.0
    report = _check(np.transpose(data, (1, 2, 0)), template_2mm.affine @ perm)

    assert report.metrics["correlation"] > 0.99
    assert report.metrics["axes_permuted"] == 1.0
    assert report.warnings and "permuted axes (ASR)" in report.warnings[0]


def test_original_axcodes_argument_is_used(template_2mm) -> None:
    report = quality_check(load_mri(template_2mm), original_axcodes=("P", "S", "R"))
    assert report.metrics["axes_permuted"] == 1.0
    assert not report.ok


def test_oblique_image_is_flagged(template_2mm) -> None:
    angle = np.radians(10.0)
    rot = np.eye(4)
    rot[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    report = _check(np.asarray(template_2mm.dataobj), rot @ template_2mm.affine)

    assert report.metrics["obliquity_deg"] == pytest.approx(10.0, abs=0.01)
    assert any("tilted 10°" in w for w in report.warnings)


def test_coarse_and_anisotropic_voxels_are_flagged(template_2mm) -> None:
    data = np.asarray(template_2mm.dataobj)
    coarse = _check(data[::2, ::2, ::2], template_2mm.affine @ np.diag([2, 2, 2, 1.0]))
    thick = _check(data[:, :, ::3], template_2mm.affine @ np.diag([1, 1, 3, 1.0]))

    assert coarse.metrics["voxel_mm_max"] == 4.0
    assert any("up to 4.0 mm" in w for w in coarse.warnings)
    assert thick.metrics["anisotropy"] == 3.0
    assert any("anisotropic" in w for w in thick.warnings)
