"""SYNTHETIC cohorts with ground truth, built on the MNI152 templates.

No real cohort can be shipped, so this package simulates one from a known causal model
(:class:`~hyperfusion.synth.config.CausalModel`): age, sex, education and APOE4 drive
amyloid (A, load), amyloid drives tau (T), an independent non-amyloid process (Z) adds
neurodegeneration, ``N = a T + Z + age term``, and cognition ``C = N (b + c A) -
reserve(education) + noise`` sets CN / MCI / AD (~35 / 48 / 17 %). The EHR is measured
from the latent variables in ADNIMERGE units with ADNI-like missingness; the image shows
N as medial-temporal-lobe atrophy (and age as atrophy too).

Why fusion is needed here (by construction, and measured by :mod:`.calibrate`):

- **The image alone cannot tell age atrophy from disease atrophy.** Age shrinks the
  hippocampus as well (besides enlarging the ventricles and thinning the cortex), and
  people's hippocampi differ in size: a small hippocampus is disease in a 65-year-old
  and normal ageing in a 90-year-old. The EHR's AGE resolves it.
- **The tabular data cannot see Z.** CSF tau and amyloid PET measure the amyloid
  pathway only; the non-amyloid share of neurodegeneration shows in the image (and
  weakly, noisily, in FDG, which is often missing).
- **N x A interaction.** The same atrophy impairs an amyloid-positive brain more
  (``C = N (b + c A)``): what the image shows must be read in the light of what the
  EHR says, the conditioning a hypernetwork is built for.

Calibration (multinomial logistic regression on scalar image stand-ins / the tabular
vector / both, 4000 train, 2000 held out, seeds 0, 1, 2; balanced accuracy, chance
0.333): image 0.674 / 0.680 / 0.676, tabular 0.670 / 0.689 / 0.667, both 0.774 /
0.790 / 0.773: fusion leads each single modality by 10 points. Brain-age stand-ins
(hippocampus, ventricles, head size): age MAE 6.1 years without sex, 5.1 with sex;
brain-age images are head-size-normalised (``RENDER_BRAIN_AGE``, as after an affine
registration), since with sex-dependent head size the image shows sex and the gain
shrinks to 0.1 year.

Speed (this 2-core machine, shared, load ~4): 100 AD subjects in 38.5 s with one
process, 33.5 s with ``--workers 2`` (template loading ~4 s included; ~0.27 s per
subject rendered and written); ~290 kB per image, ~110 kB per truth map.

API:
    - :func:`generate_cohort` (``python -m hyperfusion.synth``): write a cohort.
    - :func:`simulate_subject`: one subject's latent row, EHR row, image and truth.
    - :func:`sample_latent`, :func:`measure_ehr`, :func:`sample_brain_age`: the
      vectorised latent model.
    - :func:`.calibrate.calibrate_ad`, :func:`.calibrate.calibrate_brain_age`: the
      calibration checks (import :mod:`hyperfusion.synth.calibrate`; needs sklearn).
    - :func:`load_anatomy`, :func:`render_subject`: the image renderer.
"""

from __future__ import annotations

from hyperfusion.synth.anatomy import (
    Anatomy,
    SubjectParams,
    load_anatomy,
    render_subject,
)
from hyperfusion.synth.cohort import generate_cohort, simulate_subject
from hyperfusion.synth.config import (
    AD_MODEL,
    BRAIN_AGE_MODEL,
    RENDER,
    RENDER_BRAIN_AGE,
    BrainAgeModel,
    CausalModel,
    RenderConfig,
)
from hyperfusion.synth.latent import measure_ehr, sample_brain_age, sample_latent

__all__ = [
    "AD_MODEL",
    "BRAIN_AGE_MODEL",
    "RENDER",
    "RENDER_BRAIN_AGE",
    "Anatomy",
    "BrainAgeModel",
    "CausalModel",
    "RenderConfig",
    "SubjectParams",
    "generate_cohort",
    "load_anatomy",
    "measure_ehr",
    "render_subject",
    "sample_brain_age",
    "sample_latent",
    "simulate_subject",
]
