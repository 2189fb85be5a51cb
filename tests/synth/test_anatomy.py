"""The rendered images show what the causal model says, where it says."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hyperfusion.synth.anatomy import (
    MTL_SITES,
    Anatomy,
    SubjectParams,
    load_anatomy,
    render_subject,
)
from hyperfusion.synth.config import RENDER

pytestmark = pytest.mark.slow  # loading the templates takes a few seconds

QUIET = dataclasses.replace(RENDER, noise_sd=0.0, bias_sd=0.0, intensity_scale=(1, 1))


@pytest.fixture(scope="module")
def anat() -> Anatomy:
    return load_anatomy()


def _mm(anat: Anatomy) -> np.ndarray:
    return np.stack(np.meshgrid(*anat.axes_mm(), indexing="ij"))


def _hippocampus_roi(anat: Anatomy) -> np.ndarray:
    """Boxes of +-6 (x), +-12 (y), +-6 (z) mm around both hippocampi."""
    x, y, z = _mm(anat)
    roi = np.zeros(anat.shape, bool)
    for (cx, cy, cz), _ in MTL_SITES[:2]:
        roi |= (abs(x - cx) <= 6) & (abs(y - cy) <= 12) & (abs(z - cz) <= 6)
    return roi


def _tissue(img: np.ndarray, roi: np.ndarray) -> int:
    """Voxels brighter than CSF (grey-matter-ish or brighter) in the ROI."""
    return int((img[roi] > 0.5).sum())


def _render(anat, mtl=0.0, disease=0.0, vent=0.0, seed=0, cfg=QUIET):
    params = SubjectParams(True, mtl + disease, disease, vent)
    return render_subject(anat, params, np.random.default_rng(seed), cfg)


def test_output_is_a_skull_stripped_volume_on_the_mni_grid(anat):
    img, truth = _render(anat, disease=1.0, cfg=RENDER)
    assert img.shape == truth.shape == (99, 117, 95)
    assert img.dtype == truth.dtype == np.float32
    assert np.isfinite(img).all() and img.min() >= 0
    assert (truth[img == 0] == 0).all()
    brain = (img > 0).sum()
    assert 0.8 < brain / anat.mask.sum() < 1.25
    assert not img[0].any() and not img[:, :, -1].any()


def test_disease_shrinks_the_hippocampus_at_fixed_age(anat):
    roi = _hippocampus_roi(anat)
    counts = []
    for disease in (0.0, 0.6, 1.2):
        img, _ = _render(anat, mtl=0.2, disease=disease)
        counts.append(_tissue(img, roi))
    assert counts[0] > counts[1] > counts[2], counts
    # Strong enough to see at 3 mm: ~25-35 % at the top of the disease range.
    assert 0.2 < 1 - counts[2] / counts[0] < 0.45, counts


def test_age_shrinks_the_hippocampus_too(anat):
    roi = _hippocampus_roi(anat)
    young, _ = _render(anat, mtl=0.0)
    old, truth = _render(anat, mtl=0.45)
    assert _tissue(old, roi) < _tissue(young, roi)
    assert not truth.any()  # age is not disease: nothing in the truth map


def test_age_enlarges_the_ventricles(anat):
    x, y, z = _mm(anat)
    central = (abs(x) < 30) & (y > -50) & (y < 35) & (z > -5) & (z < 35)
    csf = []
    for vent in (0.0, 0.5, 1.0):
        img, _ = _render(anat, vent=vent)
        csf.append(int(((img > 0.05) & (img < 0.45))[central].sum()))
    assert csf[0] < csf[1] < csf[2], csf
    assert csf[2] > 1.3 * csf[0], csf


def test_truth_map_is_concentrated_in_the_medial_temporal_lobe(anat):
    _, truth = _render(anat, mtl=0.3, disease=1.0, vent=1.0, cfg=RENDER)
    x, y, z = _mm(anat)
    mtl = (abs(x) > 8) & (abs(x) < 50) & (y > -60) & (y < 20) & (z > -55) & (z < 10)
    assert truth.max() > 1.0
    assert truth[mtl].sum() / truth.sum() > 0.93
    assert mtl[truth > 0.2 * truth.max()].mean() > 0.99


def test_same_generator_same_image_different_generator_different(anat):
    a, _ = _render(anat, disease=0.5, cfg=RENDER, seed=1)
    b, _ = _render(anat, disease=0.5, cfg=RENDER, seed=1)
    c, _ = _render(anat, disease=0.5, cfg=RENDER, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_both_cohorts_render_under_one_contract(monkeypatch):
    """The one render (head sizes equalised, as after affine registration to MNI)
    draws both tasks' images."""
    from hyperfusion.synth import cohort

    seen = []

    def fake_render(anat, params, rng, cfg):
        seen.append(cfg)
        return np.zeros(anat.shape, np.float32), np.zeros(anat.shape, np.float32)

    monkeypatch.setattr(cohort, "render_subject", fake_render)
    cohort.simulate_subject("brain-age", 0, 0)
    cohort.simulate_subject("ad", 0, 0)
    assert seen == [RENDER, RENDER]
    assert RENDER.head_scale_male == RENDER.head_scale_female
