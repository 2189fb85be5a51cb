"""The synthetic population's causal model, in one readable place.

One population, two cohorts drawn from it. :class:`CausalModel` is the whole story:
demographics, the amyloid / tau / neurodegeneration / cognition chain that sets CN /
MCI / AD, the EHR measurement model in ADNI-like units, healthy ageing (sex-dependent)
and how strongly each latent variable shows in the image. :class:`CohortFrame` is what
differs between the two studies drawn from it: who is recruited (ages, healthy members
only or everyone) and which biomarkers were measured (missingness).
:class:`RenderConfig`
holds the image-rendering constants outside the causal story (individual anatomy,
scanner variation, file encoding); there is one render for both cohorts, the image
contract (skull-stripped, affinely registered to MNI152 2009: head size equalised).

Numbers marked ``~`` in the comments are approximate, chosen to look like ADNI (Petersen
et al. 2010; ADNIMERGE summary tables), not fitted to it. The remaining numbers were
tuned with :mod:`hyperfusion.synth.calibrate` so that fusion matters for both tasks
(see that module for the figures, and the package docstring for why).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CausalModel:
    """The population's latent causal model and what each modality observes of it.

    The chain (``age_c = (AGE - 73) / 10``, ``sigmoid`` the logistic function; AGE is
    drawn by the cohort's :class:`CohortFrame`)::

        male ~ Bernoulli(p_male);  PTEDUCAT ~ Normal(edu_mean, edu_sd), integer, clipped
        APOE4 ~ Categorical(apoe4_freq)                     # 0 / 1 / 2 copies
        A ~ Bernoulli(sigmoid(amy_intercept + amy_age * age_c + amy_apoe4 * APOE4))
        load = A * (load_floor + Gamma(load_shape, load_scale))
               + (1 - A) * Uniform(0, subthreshold_load)
        T = A * tau_per_load * load * LogNormal(0, tau_sd)
            + (1 - A) * |Normal(0, tau_a_neg)|
        Z ~ Gamma(z_shape, z_scale)                         # independent of A and T
        N = n_tau * T + Z + n_age * max(age_c, -1.5)
        C = N * (c_base + c_amyloid * A) - c_reserve * (PTEDUCAT - edu_mean) / edu_sd
            + Normal(0, c_noise)
        DX = CN / MCI / AD by the dx_fractions quantiles of C on a reference draw of
             the AD cohort's frame

    Healthy ageing (:meth:`ageing`) is sex-dependent: men start earlier and progress
    steadily, women start later and faster, and men's ventricles are larger at any age
    (``vent_male_offset``), so the same image means different ages for the two sexes.
    The image shows it, with disease atrophy on top, as the medial-temporal-lobe (MTL)
    amplitude ``mtl = mtl_age * ageing + mtl_disease * disease(N) + Normal(0,
    mtl_individual)`` and the ventricle / cortex amplitude ``vent = ageing +
    vent_male_offset * male + vent_disease * disease(N) + Normal(0, vent_individual)``.
    """

    # --- demographics other than age (~ADNI) ---
    p_male: float = 0.55
    edu_mean: float = 16.0
    edu_sd: float = 2.8
    edu_min: int = 6
    edu_max: int = 20
    apoe4_freq: tuple[float, float, float] = (0.58, 0.33, 0.09)

    # --- amyloid (A and its load); ~half of the AD cohort positive ---
    amy_intercept: float = -0.75
    amy_age: float = 0.45
    amy_apoe4: float = 1.5
    load_floor: float = 0.35
    load_shape: float = 2.0
    load_scale: float = 0.4
    subthreshold_load: float = 0.3

    # --- tau, neurodegeneration, cognition ---
    tau_per_load: float = 0.9
    tau_sd: float = 0.5
    tau_a_neg: float = 0.05
    z_shape: float = 2.0
    z_scale: float = 0.55
    n_tau: float = 1.0
    n_age: float = 0.15
    c_base: float = 0.55
    c_amyloid: float = 0.9
    c_reserve: float = 0.25
    c_noise: float = 0.25
    dx_fractions: tuple[float, float, float] = (0.35, 0.48, 0.17)
    reference_n: int = 200_000
    reference_seed: int = 20250101

    # --- EHR measurement model (ADNI units; ~ranges of ADNIMERGE) ---
    abeta_base: float = 1350.0  # pg/mL at zero load
    abeta_per_load: float = -0.55  # log-scale slope
    abeta_sd: float = 0.18  # log-scale noise
    abeta_range: tuple[float, float] = (200.0, 1700.0)
    ptau_base: float = 18.0  # pg/mL
    ptau_per_tau: float = 14.0
    ptau_sd: float = 0.2  # log-scale noise
    ptau_range: tuple[float, float] = (8.0, 120.0)
    ttau_base: float = 210.0  # pg/mL
    ttau_per_tau: float = 120.0
    ttau_sd: float = 0.2
    ttau_range: tuple[float, float] = (80.0, 1300.0)
    fdg_base: float = 1.32  # SUVR
    fdg_per_n: float = -0.07
    fdg_sd: float = 0.12
    fdg_range: tuple[float, float] = (0.8, 1.6)
    av45_base: float = 1.0  # SUVR
    av45_per_load: float = 0.42
    av45_sd: float = 0.06
    av45_range: tuple[float, float] = (0.8, 2.2)
    mmse_per_c: float = 1.5  # MMSE points per unit of C above mmse_c0
    mmse_c0: float = 1.0
    mmse_sd: float = 0.9

    # --- healthy ageing (about 1 at 85 for either sex) ---
    ageing_start: float = 20.0
    ageing_end: float = 90.0
    onset_male: float = 35.0
    onset_female: float = 50.0
    rate_male: float = 0.85
    rate_female: float = 1.35
    ageing_width: float = 8.0
    ageing_span: float = 50.0
    ageing_linear: float = 0.3

    # --- what the image shows (amplitudes in units of the render's unit effect) ---
    mtl_age: float = 0.35  # ageing's share of medial-temporal atrophy
    mtl_disease: float = 1.0  # disease share at disease(N) = 1
    mtl_individual: float = 0.12  # individual hippocampal size variation
    vent_male_offset: float = 0.15  # men's larger ventricles
    vent_disease: float = 0.3  # disease's share of ventricle enlargement
    vent_individual: float = 0.08  # individual ventricle size / cortex variation
    n_high: float = 4.0  # N at which the disease effect reaches its unit amplitude

    def ageing(self, age: np.ndarray, male: np.ndarray) -> np.ndarray:
        """Healthy-ageing atrophy score, shape ``age.shape``.

        ``ageing_linear * (age - 20) / 70 + rate_sex * softplus((age - onset_sex) /
        width) * width / span``.

        Example:
            >>> m = CausalModel()
            >>> bool(m.ageing(np.array([80.0]), np.array([False]))[0] > 0.9)
            True
        """
        age = np.asarray(age, float)
        male = np.asarray(male, bool)
        onset = np.where(male, self.onset_male, self.onset_female)
        rate = np.where(male, self.rate_male, self.rate_female)
        x = (age - onset) / self.ageing_width
        accel = rate * np.logaddexp(0.0, x) * self.ageing_width / self.ageing_span
        span = self.ageing_end - self.ageing_start
        return self.ageing_linear * (age - self.ageing_start) / span + accel

    def disease(self, n: np.ndarray) -> np.ndarray:
        """Disease atrophy score from N: linear, 1 at ``n_high``, capped at 1.25."""
        return np.clip(np.asarray(n, float) / self.n_high, 0.0, 1.25)


@dataclass(frozen=True)
class CohortFrame:
    """Who a study recruits from the population, and what it measured.

    Ages are ``Normal(age_mean, age_sd)`` clipped to ``[age_min, age_max]`` or, with
    ``age_sd`` 0, uniform on that range. ``healthy_only`` keeps the members the causal
    model calls CN (drawn again until CN). Missingness is independent of everything.
    """

    age_min: float
    age_max: float
    age_mean: float = 0.0
    age_sd: float = 0.0
    healthy_only: bool = False
    p_missing_csf: float = 0.5  # ABETA, PTAU and TAU together
    p_missing_av45: float = 0.5
    p_missing_fdg: float = 0.4
    p_missing_apoe4: float = 0.09


POPULATION = CausalModel()
# The AD cohort (~ADNI): everyone aged 55-90, CN / MCI / AD.
AD_FRAME = CohortFrame(age_min=55.0, age_max=90.0, age_mean=73.5, age_sd=7.0)
# The brain-age cohort: the population's healthy members aged 20-90, uniform in age,
# biomarkers mostly missing as in a population study.
BRAIN_AGE_FRAME = CohortFrame(
    age_min=20.0,
    age_max=90.0,
    healthy_only=True,
    p_missing_csf=0.95,
    p_missing_av45=0.97,
    p_missing_fdg=0.95,
    p_missing_apoe4=0.5,
)


@dataclass(frozen=True)
class RenderConfig:
    """Image-rendering constants outside the causal story (anatomy, scanner, files).

    Unit effects (amplitude 1): the MTL contraction shrinks the hippocampal grey matter
    by ~25 % (volume) and darkens it by ``mtl_intensity_loss``; the ventricle field
    moves the lateral ventricles' walls outward by ``vent_mm``; the cortex loses
    ``cortex_intensity_loss`` of its grey-matter intensity.
    """

    # Under the contract (affine registration to MNI) the sexes' head sizes are
    # equalised; before, the AD cohort kept ~+-4 % by sex and its CNN read sex off it.
    head_scale_male: float = 1.0
    head_scale_female: float = 1.0
    head_scale_sd: float = 0.02  # what the registration leaves
    deform_mm: float = 1.5  # sd of each low-frequency cosine coefficient (mm)
    deform_order: int = 3  # cosine basis functions per axis
    rigid_shift_mm: float = 2.0  # uniform in [-2, 2] per axis
    mtl_dilation: float = 0.2  # radial contraction at the centre, per unit amplitude
    mtl_intensity_loss: float = 0.25
    vent_mm: float = 3.0
    cortex_intensity_loss: float = 0.10
    intensity_scale: tuple[float, float] = (0.85, 1.15)
    bias_sd: float = 0.06  # sd of each low-order log bias coefficient
    noise_sd: float = 0.025  # Rician noise, fraction of white-matter intensity
    int16_scale: float = 1000.0  # stored value per unit of template intensity
    truth_intensity_mm: float = 10.0  # truth = |u| (mm) + 10 * fractional loss
    compresslevel: int = 5


RENDER = RenderConfig()

__all__ = [
    "AD_FRAME",
    "BRAIN_AGE_FRAME",
    "POPULATION",
    "RENDER",
    "CausalModel",
    "CohortFrame",
    "RenderConfig",
]
