"""The latent model's proportions, units and missingness on a large draw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hyperfusion.synth.config import AD_MODEL, BRAIN_AGE_MODEL
from hyperfusion.synth.latent import (
    dx_thresholds,
    measure_ehr,
    sample_brain_age,
    sample_latent,
)


@pytest.fixture(scope="module")
def big() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(123)
    latent = sample_latent(40_000, rng, AD_MODEL)
    return latent, measure_ehr(latent, rng, AD_MODEL)


def test_diagnosis_proportions_match_targets(big):
    latent, _ = big
    frac = latent["DX"].value_counts(normalize=True)
    for dx, target in zip(("CN", "MCI", "AD"), AD_MODEL.dx_fractions, strict=True):
        assert abs(frac[dx] - target) < 0.02


def test_amyloid_about_half_positive_and_driven_by_apoe4(big):
    latent, _ = big
    assert 0.45 < latent["A"].mean() < 0.55
    by_apoe = latent.groupby("APOE4")["A"].mean()
    assert by_apoe[0] < by_apoe[1] < by_apoe[2]


def test_apoe4_frequencies(big):
    latent, _ = big
    freq = latent["APOE4"].value_counts(normalize=True).sort_index().to_numpy()
    np.testing.assert_allclose(freq, AD_MODEL.apoe4_freq, atol=0.015)


def test_tau_near_zero_without_amyloid_and_z_independent(big):
    latent, _ = big
    neg = latent[latent["A"] == 0]
    assert neg["T"].mean() < 0.1 < latent.loc[latent["A"] == 1, "T"].mean()
    assert abs(np.corrcoef(latent["Z"], latent["T"])[0, 1]) < 0.03


def test_missingness_like_adni(big):
    _, ehr = big
    miss = ehr.isna().mean()
    assert abs(miss["ABETA"] - 0.5) < 0.02
    assert (ehr["ABETA"].isna() == ehr["PTAU"].isna()).all()
    assert (ehr["ABETA"].isna() == ehr["TAU"].isna()).all()
    assert abs(miss["AV45"] - 0.5) < 0.02
    assert abs(miss["FDG"] - 0.4) < 0.02
    assert abs(miss["APOE4"] - 0.09) < 0.01
    for col in ("AGE", "PTGENDER", "PTEDUCAT", "MMSE", "DX"):
        assert miss[col] == 0


def test_ehr_units_and_ranges(big):
    _, ehr = big
    ranges = {
        "AGE": (55, 95),
        "PTEDUCAT": (6, 20),
        "ABETA": (200, 1700),
        "PTAU": (8, 120),
        "TAU": (80, 1300),
        "FDG": (0.8, 1.6),
        "AV45": (0.8, 2.2),
        "MMSE": (0, 30),
    }
    for col, (lo, hi) in ranges.items():
        assert ehr[col].min() >= lo and ehr[col].max() <= hi, col
    assert set(ehr["PTGENDER"]) == {"Female", "Male"}
    assert set(ehr["APOE4"].dropna()) == {0.0, 1.0, 2.0}


def test_biomarkers_point_the_right_way(big):
    _, ehr = big
    means = ehr.groupby("DX")[["ABETA", "PTAU", "FDG", "AV45", "MMSE"]].mean()
    assert (
        means.loc["CN", "ABETA"] > means.loc["MCI", "ABETA"] > means.loc["AD", "ABETA"]
    )
    assert means.loc["CN", "PTAU"] < means.loc["AD", "PTAU"]
    assert means.loc["CN", "FDG"] > means.loc["AD", "FDG"]
    assert means.loc["CN", "AV45"] < means.loc["AD", "AV45"]
    assert means.loc["CN", "MMSE"] > means.loc["MCI", "MMSE"] > means.loc["AD", "MMSE"]


def test_same_generator_seed_same_draw():
    a = sample_latent(50, np.random.default_rng(7), AD_MODEL)
    b = sample_latent(50, np.random.default_rng(7), AD_MODEL)
    pd.testing.assert_frame_equal(a, b)
    assert dx_thresholds(AD_MODEL) == dx_thresholds(AD_MODEL)


def test_brain_age_cohort_is_healthy_and_spans_20_to_90():
    latent, ehr = sample_brain_age(
        4000, np.random.default_rng(3), BRAIN_AGE_MODEL, AD_MODEL
    )
    assert set(ehr["DX"]) == {"CN"}
    assert ehr["AGE"].min() >= 20 and ehr["AGE"].max() <= 90
    assert ehr["AV45"].isna().mean() > 0.9
    assert (latent["MTL_DISEASE"] == 0).all()
    old = latent["AGE"] > 70
    assert (
        latent.loc[old, "VENT_AMPLITUDE"].mean()
        > latent.loc[~old, "VENT_AMPLITUDE"].mean()
    )
