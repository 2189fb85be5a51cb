"""Calibrate the causal model before rendering a single image.

A CNN cannot find information the generator did not put into the image, and a fusion
model cannot beat a tabular model that already sees everything. So the latent model is
checked with scalar stand-ins for what the image shows:

- ``hippocampus`` = -(MTL atrophy amplitude) + reading noise: age's share, the disease
  share from N and individual hippocampal size, exactly as :mod:`anatomy` renders them;
- ``ventricles`` = ageing + men's offset + disease share + individual ventricle size
  + reading noise (the lateral ventricles and the cortex).

A multinomial logistic regression is fitted on the image stand-ins only, on the tabular
vector only (median-imputed, missing flags, z-scored) and on both, and scored by
balanced accuracy on a held-out draw. Figures with the shipped population
(``calibrate_ad(POPULATION, seed=s)``, 4000 train / 2000 test)::

    seed   image   tabular   both      (chance 0.333)
    0      0.671   0.670     0.774
    1      0.689   0.687     0.792
    2      0.680   0.668     0.782

so fusion is ahead of either modality by ~10 points (the CNN target is >= 5; the
margin allows for a CNN reading the image less precisely than ``READING_NOISE``).
Tuning history: with ``z_scale`` 0.45, ``fdg_sd`` 0.10 and ``c_noise`` 0.30 the lead
was 8.7 points; a reading noise of 0.15 instead of 0.10 costs the image ~2 points.

Brain age (``calibrate_brain_age``: cubic ridge regression of age on the stand-ins,
hippocampus, ventricles and head size, fitted on the brain-age frame, 4000 / 2000):
MAE 6.4 / 6.4 / 6.6 years without sex, 5.3 / 5.3 / 5.4 with sex (seeds 0, 1, 2).
Applied to the AD frame: MAE 4.7 / 4.8 / 4.5 years on its CN members (the narrower,
older age range reads better), mean gap CN -0.9 / -1.3 / -0.9, MCI +2.4 / +2.0 / +2.3,
AD +7.5 / +5.7 / +4.7 years. Choosing the one population's ventricle terms: with
``vent_individual`` 0.15 and ``vent_disease`` 0.2 the brain-age MAE was 7.1 years;
0.08 and 0.3 give the figures above. With head sizes left sex-dependent (men ~8 %
larger, before registration) head size tells sex and knowing sex gains < 0.3 year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import balanced_accuracy_score, mean_absolute_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from hyperfusion.data.ehr_schema import FLAGGED_FEATURES, NUMERIC_FEATURES
from hyperfusion.synth.config import (
    AD_FRAME,
    BRAIN_AGE_FRAME,
    RENDER,
    CausalModel,
    CohortFrame,
    RenderConfig,
)
from hyperfusion.synth.latent import measure_ehr, sample_latent

# The model-input columns and flagged fields, as the EHR schema defines them.
TABULAR_NUMERIC = NUMERIC_FEATURES
MISSING_FLAGS = FLAGGED_FEATURES
READING_NOISE = 0.1  # how imprecisely a model reads an amplitude from the image


def image_proxies(latent: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Scalar stand-ins for the image: ``(n, 2)`` = [hippocampus, ventricles]."""
    n = len(latent)
    hip = -latent["MTL_AMPLITUDE"].to_numpy() + rng.normal(0, READING_NOISE, n)
    vent = latent["VENT_AMPLITUDE"].to_numpy() + rng.normal(0, READING_NOISE, n)
    return np.column_stack([hip, vent])


def tabular_matrix(ehr: pd.DataFrame, medians: pd.Series | None = None) -> np.ndarray:
    """The 16-value AD tabular vector, median-imputed (simple stand-in for the app's).

    Columns: the 8 numeric fields, [Female, Male] one-hot and 6 missing flags.
    """
    num = ehr[list(TABULAR_NUMERIC)].astype(float)
    if medians is None:
        medians = num.median()
    flags = num[list(MISSING_FLAGS)].isna().to_numpy(float)
    male = (ehr["PTGENDER"] == "Male").to_numpy(float)
    return np.column_stack([num.fillna(medians).to_numpy(), 1.0 - male, male, flags])


def _draw_ad(
    n: int, rng: np.random.Generator, cfg: CausalModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    latent = sample_latent(n, rng, cfg, AD_FRAME)
    ehr = measure_ehr(latent, rng, cfg, AD_FRAME)
    return image_proxies(latent, rng), tabular_matrix(ehr), latent["DX"].to_numpy()


def calibrate_ad(
    cfg: CausalModel, n_train: int = 4000, n_test: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Balanced accuracy of image-only, tabular-only and fused logistic regressions.

    Returns:
        ``{"image": ..., "tabular": ..., "both": ...}`` on the held-out draw.

    Example:
        >>> from hyperfusion.synth.config import POPULATION
        >>> r = calibrate_ad(POPULATION, 2000, 1000)
        >>> r["both"] > max(r["image"], r["tabular"])
        True
    """
    rng = np.random.default_rng(seed)
    img_tr, tab_tr, y_tr = _draw_ad(n_train, rng, cfg)
    img_te, tab_te, y_te = _draw_ad(n_test, rng, cfg)
    views = {
        "image": (img_tr, img_te),
        "tabular": (tab_tr, tab_te),
        "both": (np.hstack([img_tr, tab_tr]), np.hstack([img_te, tab_te])),
    }
    out: dict[str, float] = {}
    for name, (x_tr, x_te) in views.items():
        clf = make_pipeline(
            StandardScaler(),
            LogisticRegression(max_iter=2000, class_weight="balanced"),
        )
        clf.fit(x_tr, y_tr)
        out[name] = float(balanced_accuracy_score(y_te, clf.predict(x_te)))
    return out


def _brain_age_features(
    n: int,
    rng: np.random.Generator,
    cfg: CausalModel,
    frame: CohortFrame,
    render: RenderConfig,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    latent = sample_latent(n, rng, cfg, frame)
    male = latent["male"].to_numpy(bool)
    head = np.where(male, render.head_scale_male, render.head_scale_female)
    head = head + rng.normal(0, render.head_scale_sd, n)
    proxies = np.column_stack([image_proxies(latent, rng), head])
    return proxies, male.astype(float)[:, None], latent


def _age_regression():  # noqa: ANN202 - an sklearn pipeline
    return make_pipeline(StandardScaler(), PolynomialFeatures(3), Ridge(alpha=1e-3))


def calibrate_brain_age(
    cfg: CausalModel,
    n_train: int = 4000,
    n_test: int = 2000,
    seed: int = 0,
    render: RenderConfig = RENDER,
) -> dict[str, float]:
    """Brain-age stand-in: age MAE (years) without and with sex, and its transfer.

    A cubic regression of age on the image stand-ins (hippocampus, ventricles and the
    head size the ``render`` gives each sex) is fitted on the brain-age cohort's frame
    and scored on a held-out draw of it; with sex, it is then applied to a draw of the
    AD cohort's frame, as the app applies the brain-age model to the AD cohort.

    Returns:
        ``without_sex`` and ``with_sex`` (MAE on the brain-age frame),
        ``transfer_cn_mae`` (MAE on the AD frame's CN members) and ``gap_CN``,
        ``gap_MCI``, ``gap_AD`` (mean predicted minus true age by diagnosis).
    """
    rng = np.random.default_rng(seed)
    p_tr, s_tr, lat_tr = _brain_age_features(n_train, rng, cfg, BRAIN_AGE_FRAME, render)
    p_te, s_te, lat_te = _brain_age_features(n_test, rng, cfg, BRAIN_AGE_FRAME, render)
    y_tr, y_te = lat_tr["AGE"].to_numpy(), lat_te["AGE"].to_numpy()
    out: dict[str, float] = {}
    for name, (x_tr, x_te) in {
        "without_sex": (p_tr, p_te),
        "with_sex": (np.hstack([p_tr, s_tr]), np.hstack([p_te, s_te])),
    }.items():
        reg = _age_regression().fit(x_tr, y_tr)
        out[name] = float(mean_absolute_error(y_te, np.clip(reg.predict(x_te), 20, 90)))
    p_ad, s_ad, lat_ad = _brain_age_features(n_test, rng, cfg, AD_FRAME, render)
    gap = np.clip(reg.predict(np.hstack([p_ad, s_ad])), 20, 90) - lat_ad["AGE"]
    dx = lat_ad["DX"].to_numpy()
    out["transfer_cn_mae"] = float(np.abs(gap[dx == "CN"]).mean())
    for label in ("CN", "MCI", "AD"):
        out[f"gap_{label}"] = float(gap[dx == label].mean())
    return out


__all__ = [
    "MISSING_FLAGS",
    "TABULAR_NUMERIC",
    "calibrate_ad",
    "calibrate_brain_age",
    "image_proxies",
    "tabular_matrix",
]
