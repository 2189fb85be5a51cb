"""The latent model's proportions, units and missingness on a large draw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hyperfusion.synth.config import AD_FRAME, BRAIN_AGE_FRAME, POPULATION
from hyperfusion.synth.latent import dx_thresholds, measure_ehr, sample_latent


@pytest.fixture(scope="module")
def big() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(123)
    latent = sample_latent(40_000, rng, POPULATION, AD_FRAME)
    return latent, measure_ehr(latent, rng, POPULATION, AD_FRAME)


def test_diagnosis_proportions_match_targets(big):
    latent, _ = big
    frac = latent["DX"].value_counts(normalize=True)
    for dx, target in zip(("CN", "MCI", "AD"), POPULATION.dx_fractions, strict=True):
        assert abs(frac[dx] - target) < 0.02


def test_amyloid_about_half_positive_and_driven_by_apoe4(big):
    latent, _ = big
    assert 0.45 < latent["A"].mean() < 0.55
    by_apoe = latent.groupby("APOE4")["A"].mean()
    assert by_apoe[0] < by_apoe[1] < by_apoe[2]


def test_apoe4_frequencies(big):
    latent, _ = big
    freq = latent["APOE4"].value_counts(normalize=True).sort_index().to_numpy()
    np.testing.assert_allclose(freq, POPULATION.apoe4_freq, atol=0.015)


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
        "AGE": (55, 90),
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
    a = sample_latent(50, np.random.default_rng(7), POPULATION, AD_FRAME)
    b = sample_latent(50, np.random.default_rng(7), POPULATION, AD_FRAME)
    pd.testing.assert_frame_equal(a, b)
    assert dx_thresholds(POPULATION) == dx_thresholds(POPULATION)


@pytest.fixture(scope="module")
def healthy() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    latent = sample_latent(20_000, rng, POPULATION, BRAIN_AGE_FRAME)
    return latent, measure_ehr(latent, rng, POPULATION, BRAIN_AGE_FRAME)


def test_brain_age_cohort_is_healthy_sparse_and_spans_20_to_90(healthy):
    latent, ehr = healthy
    assert set(ehr["DX"]) == {"CN"}
    assert ehr["AGE"].min() >= 20 and ehr["AGE"].max() <= 90
    # Uniform in age: each decade holds about a seventh.
    decades = np.histogram(ehr["AGE"], bins=7, range=(20, 90))[0] / len(ehr)
    assert np.all(np.abs(decades - 1 / 7) < 0.015), decades
    assert abs(ehr["AV45"].isna().mean() - BRAIN_AGE_FRAME.p_missing_av45) < 0.01


def test_one_population_same_ageing_and_disease_in_both_cohorts(big, healthy):
    """A CN member of the AD cohort is a healthy member of the brain-age cohort:
    at the same ages their image amplitudes have the same distribution."""
    ad, _ = big
    ba, _ = healthy
    for df in (ad, ba):
        assert np.isfinite(df["VENT_AMPLITUDE"]).all()
    cn = ad[(ad["DX"] == "CN") & ad["AGE"].between(65, 75)]
    ref = ba[ba["AGE"].between(65, 75)]
    for col in ("VENT_AMPLITUDE", "MTL_AMPLITUDE"):
        pooled_sd = np.sqrt((cn[col].var() + ref[col].var()) / 2)
        se = pooled_sd * np.sqrt(1 / len(cn) + 1 / len(ref))
        assert abs(cn[col].mean() - ref[col].mean()) < 4 * se, col


def test_disease_atrophy_adds_to_ageing(big):
    """At the same age, MCI and AD brains show more MTL and ventricle atrophy than
    CN brains (what makes the brain-age gap rise with disease)."""
    ad, _ = big
    band = ad[ad["AGE"].between(70, 78)]
    for col in ("VENT_AMPLITUDE", "MTL_AMPLITUDE"):
        means = band.groupby("DX")[col].mean()
        assert means["CN"] < means["MCI"] < means["AD"], col


def test_ageing_is_monotone_and_sex_dependent():
    ages = np.linspace(20, 90, 71)
    for male in (False, True):
        curve = POPULATION.ageing(ages, np.full(ages.shape, male))
        assert np.all(np.diff(curve) > 0)
    f = POPULATION.ageing(ages, np.zeros(ages.shape, bool))
    m = POPULATION.ageing(ages, np.ones(ages.shape, bool))
    # Men start earlier, women progress faster: the curves cross once.
    assert m[0] >= f[0] and m[20] > f[20] and f[-1] > m[-1]
