"""The configuration makes fusion matter (calibrated before rendering any image)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hyperfusion.synth.calibrate import calibrate_ad, calibrate_brain_age
from hyperfusion.synth.config import POPULATION, RENDER


def test_fusion_beats_each_modality_by_eight_points():
    r = calibrate_ad(POPULATION, n_train=4000, n_test=2000, seed=0)
    assert r["both"] - max(r["image"], r["tabular"]) >= 0.08, r
    # Neither modality is useless (chance is 1/3).
    assert r["image"] > 0.45 and r["tabular"] > 0.45, r


def test_fusion_gap_holds_on_another_seed():
    r = calibrate_ad(POPULATION, n_train=4000, n_test=2000, seed=1)
    assert r["both"] - max(r["image"], r["tabular"]) >= 0.07, r


@pytest.fixture(scope="module")
def brain_age() -> dict[str, float]:
    return calibrate_brain_age(POPULATION, n_train=4000, n_test=2000)


def test_brain_age_gains_from_sex(brain_age):
    assert brain_age["with_sex"] < brain_age["without_sex"] - 0.5, brain_age
    assert brain_age["with_sex"] < 8.0, brain_age


def test_brain_age_transfers_to_the_ad_cohort(brain_age):
    """Fitted on the healthy cohort, applied to the AD cohort (as the app does): CN
    members read about as well as in its own cohort, and the gap rises with disease."""
    r = brain_age
    assert r["transfer_cn_mae"] <= 1.25 * r["with_sex"], r
    assert r["gap_CN"] < r["gap_MCI"] < r["gap_AD"], r
    assert r["gap_AD"] - r["gap_CN"] >= 3.0, r


def test_sex_dependent_head_size_would_let_the_image_show_sex():
    # With head sizes left sex-dependent (men ~8 % larger, as before registration),
    # head size tells sex and knowing sex adds little: why the contract equalises it.
    unregistered = replace(RENDER, head_scale_male=1.04, head_scale_female=0.96)
    r = calibrate_brain_age(POPULATION, n_train=4000, n_test=2000, render=unregistered)
    assert r["without_sex"] - r["with_sex"] < 0.3, r
