"""The configuration makes fusion matter (calibrated before rendering any image)."""

from __future__ import annotations

from hyperfusion.synth.calibrate import calibrate_ad, calibrate_brain_age
from hyperfusion.synth.config import AD_MODEL, BRAIN_AGE_MODEL, RENDER


def test_fusion_beats_each_modality_by_eight_points():
    r = calibrate_ad(AD_MODEL, n_train=4000, n_test=2000, seed=0)
    assert r["both"] - max(r["image"], r["tabular"]) >= 0.08, r
    # Neither modality is useless (chance is 1/3).
    assert r["image"] > 0.45 and r["tabular"] > 0.45, r


def test_fusion_gap_holds_on_another_seed():
    r = calibrate_ad(AD_MODEL, n_train=4000, n_test=2000, seed=1)
    assert r["both"] - max(r["image"], r["tabular"]) >= 0.07, r


def test_brain_age_gains_from_sex():
    r = calibrate_brain_age(BRAIN_AGE_MODEL, AD_MODEL, n_train=4000, n_test=2000)
    assert r["with_sex"] < r["without_sex"] - 0.5, r
    assert r["with_sex"] < 8.0, r


def test_sex_dependent_head_size_would_let_the_image_show_sex():
    # With the AD render's head sizes (men ~8 % larger) head size tells sex, and
    # knowing sex adds little: why brain-age images equalise head size.
    r = calibrate_brain_age(
        BRAIN_AGE_MODEL, AD_MODEL, n_train=4000, n_test=2000, render=RENDER
    )
    assert r["without_sex"] - r["with_sex"] < 0.3, r
