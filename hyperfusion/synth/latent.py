"""Sampling the latent variables, the EHR measured from them, and image stand-ins.

Everything is vectorised over subjects and takes a ``numpy.random.Generator``, the
population's :class:`~hyperfusion.synth.config.CausalModel` and the cohort's
:class:`~hyperfusion.synth.config.CohortFrame`; the cohort writer calls these with
``n=1`` and one generator per subject so that subject ``i`` is the same whatever the
cohort size.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from hyperfusion.config import AD_CLASSES
from hyperfusion.synth.config import AD_FRAME, CausalModel, CohortFrame

EHR_COLUMNS: tuple[str, ...] = (
    "PTID",
    "AGE",
    "PTGENDER",
    "PTEDUCAT",
    "APOE4",
    "ABETA",
    "PTAU",
    "TAU",
    "FDG",
    "AV45",
    "MMSE",
    "DX",
)
LATENT_COLUMNS: tuple[str, ...] = (
    "PTID",
    "A",
    "AMYLOID_LOAD",
    "T",
    "Z",
    "N",
    "C",
    "MTL_AMPLITUDE",
    "MTL_DISEASE",
    "VENT_AMPLITUDE",
)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _ages(n: int, rng: np.random.Generator, frame: CohortFrame) -> np.ndarray:
    if frame.age_sd > 0:
        age = rng.normal(frame.age_mean, frame.age_sd, n)
    else:
        age = rng.uniform(frame.age_min, frame.age_max, n)
    return np.round(np.clip(age, frame.age_min, frame.age_max), 1)


def _demographics(
    n: int,
    rng: np.random.Generator,
    cfg: CausalModel,
    frame: CohortFrame,
    ages: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    age = _ages(n, rng, frame) if ages is None else ages
    male = rng.random(n) < cfg.p_male
    edu = np.clip(
        np.rint(rng.normal(cfg.edu_mean, cfg.edu_sd, n)), cfg.edu_min, cfg.edu_max
    )
    apoe4 = rng.choice(3, size=n, p=np.asarray(cfg.apoe4_freq) / sum(cfg.apoe4_freq))
    return {"age": age, "male": male, "edu": edu, "apoe4": apoe4}


def _cognition(
    n: int, rng: np.random.Generator, cfg: CausalModel, demo: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """A, load, T, Z, N and C given the demographics (the causal chain)."""
    age_c = (demo["age"] - 73.0) / 10.0
    p_a = _sigmoid(
        cfg.amy_intercept + cfg.amy_age * age_c + cfg.amy_apoe4 * demo["apoe4"]
    )
    a = (rng.random(n) < p_a).astype(float)
    load_pos = cfg.load_floor + rng.gamma(cfg.load_shape, cfg.load_scale, n)
    load = np.where(a > 0, load_pos, rng.uniform(0.0, cfg.subthreshold_load, n))
    tau_pos = cfg.tau_per_load * load * np.exp(rng.normal(0.0, cfg.tau_sd, n))
    t = np.where(a > 0, tau_pos, np.abs(rng.normal(0.0, cfg.tau_a_neg, n)))
    z = rng.gamma(cfg.z_shape, cfg.z_scale, n)
    nd = cfg.n_tau * t + z + cfg.n_age * np.maximum(age_c, -1.5)
    reserve = cfg.c_reserve * (demo["edu"] - cfg.edu_mean) / cfg.edu_sd
    c = nd * (cfg.c_base + cfg.c_amyloid * a) - reserve + rng.normal(0, cfg.c_noise, n)
    return {"A": a, "AMYLOID_LOAD": load, "T": t, "Z": z, "N": nd, "C": c}


@lru_cache(maxsize=8)
def dx_thresholds(cfg: CausalModel) -> tuple[float, float]:
    """The C thresholds (CN|MCI, MCI|AD) giving ``cfg.dx_fractions`` in a large draw
    of the AD cohort's frame (:data:`~hyperfusion.synth.config.AD_FRAME`).

    Deterministic: the reference draw uses ``cfg.reference_seed``.
    """
    rng = np.random.default_rng(cfg.reference_seed)
    demo = _demographics(cfg.reference_n, rng, cfg, AD_FRAME)
    c = _cognition(cfg.reference_n, rng, cfg, demo)["C"]
    q = np.cumsum(cfg.dx_fractions)[:2] / sum(cfg.dx_fractions)
    lo, hi = np.quantile(c, q)
    return float(lo), float(hi)


def _draw(
    n: int,
    rng: np.random.Generator,
    cfg: CausalModel,
    frame: CohortFrame,
    ages: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    demo = _demographics(n, rng, cfg, frame, ages)
    lat = _cognition(n, rng, cfg, demo)
    lo, hi = dx_thresholds(cfg)
    dx = np.asarray(AD_CLASSES)[np.digitize(lat["C"], [lo, hi])]
    return {
        "AGE": demo["age"],
        "male": demo["male"],
        "PTEDUCAT": demo["edu"],
        "APOE4": demo["apoe4"],
        **lat,
        "DX": dx,
    }


def _members(
    n: int, rng: np.random.Generator, cfg: CausalModel, frame: CohortFrame
) -> dict[str, np.ndarray]:
    """``n`` members of the frame: a draw, redrawn where the frame refuses one.

    A refused member is redrawn at the same age, so that the frame's age
    distribution is the cohort's (healthy members are rarer among the old).
    """
    rows = _draw(n, rng, cfg, frame)
    if not frame.healthy_only:
        return rows
    keep = rows["DX"] == AD_CLASSES[0]
    while not keep.all():
        redo = np.flatnonzero(~keep)
        new = _draw(len(redo), rng, cfg, frame, ages=rows["AGE"][redo])
        for key, values in new.items():
            rows[key][redo] = values
        keep = rows["DX"] == AD_CLASSES[0]
    return rows


def sample_latent(
    n: int, rng: np.random.Generator, cfg: CausalModel, frame: CohortFrame
) -> pd.DataFrame:
    """Draw ``n`` members of a cohort's frame from the population's latent model.

    Returns:
        One row per subject: ``AGE, male, PTEDUCAT, APOE4`` (true, never missing),
        ``A, AMYLOID_LOAD, T, Z, N, C, DX`` and the image amplitudes
        ``MTL_AMPLITUDE`` (ageing + disease + individual), ``MTL_DISEASE`` (the
        disease share alone, which the truth map shows) and ``VENT_AMPLITUDE``
        (ageing + sex + disease + individual).

    Example:
        >>> from hyperfusion.synth.config import AD_FRAME
        >>> df = sample_latent(5, np.random.default_rng(0), CausalModel(), AD_FRAME)
        >>> sorted(set(df.DX) - {"CN", "MCI", "AD"})
        []
    """
    rows = _members(n, rng, cfg, frame)
    ageing = cfg.ageing(rows["AGE"], rows["male"])
    disease = cfg.disease(rows["N"])
    mtl_dis = cfg.mtl_disease * disease
    mtl = cfg.mtl_age * ageing + mtl_dis + rng.normal(0, cfg.mtl_individual, n)
    vent = (
        ageing
        + cfg.vent_male_offset * rows["male"]
        + cfg.vent_disease * disease
        + rng.normal(0, cfg.vent_individual, n)
    )
    return pd.DataFrame(
        {
            **rows,
            "MTL_AMPLITUDE": mtl,
            "MTL_DISEASE": mtl_dis,
            "VENT_AMPLITUDE": vent,
        }
    )


def _lognormal(
    rng: np.random.Generator, mean: np.ndarray, sd: float, lim: tuple[float, float]
) -> np.ndarray:
    return np.clip(mean * np.exp(rng.normal(0.0, sd, mean.shape)), *lim)


def measure_ehr(
    latent: pd.DataFrame,
    rng: np.random.Generator,
    cfg: CausalModel,
    frame: CohortFrame,
) -> pd.DataFrame:
    """The ADNIMERGE-like record of each subject, with missing values as NaN.

    Columns: ``AGE, PTGENDER (Female/Male), PTEDUCAT, APOE4, ABETA, PTAU, TAU, FDG,
    AV45, MMSE, DX`` (no PTID). CSF values go missing together, at the frame's rates.
    """
    n = len(latent)
    load = latent["AMYLOID_LOAD"].to_numpy()
    t = latent["T"].to_numpy()
    nd = latent["N"].to_numpy()
    abeta = _lognormal(
        rng,
        cfg.abeta_base * np.exp(cfg.abeta_per_load * load),
        cfg.abeta_sd,
        cfg.abeta_range,
    )
    ptau = _lognormal(
        rng, cfg.ptau_base + cfg.ptau_per_tau * t, cfg.ptau_sd, cfg.ptau_range
    )
    ttau = _lognormal(
        rng, cfg.ttau_base + cfg.ttau_per_tau * t, cfg.ttau_sd, cfg.ttau_range
    )
    fdg = np.clip(
        cfg.fdg_base + cfg.fdg_per_n * nd + rng.normal(0, cfg.fdg_sd, n), *cfg.fdg_range
    )
    av45 = np.clip(
        cfg.av45_base + cfg.av45_per_load * load + rng.normal(0, cfg.av45_sd, n),
        *cfg.av45_range,
    )
    excess = np.logaddexp(0.0, latent["C"].to_numpy() - cfg.mmse_c0)
    mmse = np.clip(
        np.rint(30.0 - cfg.mmse_per_c * excess + rng.normal(0, cfg.mmse_sd, n)), 0, 30
    )
    apoe4 = latent["APOE4"].to_numpy().astype(float)
    miss_csf = rng.random(n) < frame.p_missing_csf
    miss_av45 = rng.random(n) < frame.p_missing_av45
    miss_fdg = rng.random(n) < frame.p_missing_fdg
    miss_apoe = rng.random(n) < frame.p_missing_apoe4
    return pd.DataFrame(
        {
            "AGE": latent["AGE"].to_numpy(),
            "PTGENDER": np.where(latent["male"].to_numpy(), "Male", "Female"),
            "PTEDUCAT": latent["PTEDUCAT"].to_numpy().astype(float),
            "APOE4": np.where(miss_apoe, np.nan, apoe4),
            "ABETA": np.where(miss_csf, np.nan, np.round(abeta, 1)),
            "PTAU": np.where(miss_csf, np.nan, np.round(ptau, 2)),
            "TAU": np.where(miss_csf, np.nan, np.round(ttau, 1)),
            "FDG": np.where(miss_fdg, np.nan, np.round(fdg, 4)),
            "AV45": np.where(miss_av45, np.nan, np.round(av45, 4)),
            "MMSE": mmse,
            "DX": latent["DX"].to_numpy(),
        }
    )


__all__ = [
    "EHR_COLUMNS",
    "LATENT_COLUMNS",
    "dx_thresholds",
    "measure_ehr",
    "sample_latent",
]
