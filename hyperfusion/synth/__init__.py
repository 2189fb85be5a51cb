"""SYNTHETIC cohorts with ground truth, built on the MNI152 templates.

No real cohort can be shipped, so this package simulates one **population** from a
known causal model (:class:`~hyperfusion.synth.config.CausalModel`) and draws both
tasks' cohorts from it (:class:`~hyperfusion.synth.config.CohortFrame`): the AD cohort
is its members aged 55-90 (CN / MCI / AD, ~35 / 48 / 17 %), the brain-age cohort its
healthy (CN) members aged 20-90, uniform in age. One anatomy, one sex-dependent
ageing model and one scanner model serve both, and every image is rendered under the
one image contract (:data:`hyperfusion.data.contract.IMAGE_CONTRACT`: skull-stripped,
affinely registered to MNI152 2009, so head sizes are equalised), with disease
atrophy on top of ageing. A CN member of the AD cohort is therefore a member of the
brain-age cohort's population, and the brain-age model reads the AD cohort's images
as it reads its own.

The causal chain: age, sex, education and APOE4 drive amyloid (A, load), amyloid
drives tau (T), an independent non-amyloid process (Z) adds neurodegeneration,
``N = a T + Z + age term``, and cognition ``C = N (b + c A) - reserve(education) +
noise`` sets CN / MCI / AD. The EHR is measured from the latent variables in ADNIMERGE
units with each study's missingness (the brain-age study measured few biomarkers);
the image shows ageing (ventricles, cortex, hippocampus; sex-dependent onset and
rate, men's ventricles larger) and N as medial-temporal-lobe atrophy and ventricle
enlargement.

Why fusion is needed here (by construction, and measured by :mod:`.calibrate`):

- **The image alone cannot tell age atrophy from disease atrophy.** Age shrinks the
  hippocampus as well, and people's hippocampi differ in size: a small hippocampus
  is disease in a 65-year-old and normal ageing in a 90-year-old. The EHR's AGE
  resolves it.
- **The tabular data cannot see Z.** CSF tau and amyloid PET measure the amyloid
  pathway only; the non-amyloid share of neurodegeneration shows in the image (and
  weakly, noisily, in FDG, which is often missing).
- **N x A interaction.** The same atrophy impairs an amyloid-positive brain more
  (``C = N (b + c A)``): what the image shows must be read in the light of what the
  EHR says, the conditioning a hypernetwork is built for.
- **Brain age depends on sex.** Men's brains start ageing earlier and women's
  faster, and men's ventricles are larger: the same image means different ages for
  the two sexes, and with head size equalised the image does not show sex.

Calibration (:mod:`.calibrate`, scalar stand-ins for what the image shows; 4000
train, 2000 held out; seeds 0, 1, 2). AD, balanced accuracy of a multinomial logistic
regression (chance 0.333): image 0.671 / 0.689 / 0.680, tabular 0.670 / 0.687 /
0.668, both 0.774 / 0.792 / 0.782: fusion leads each single modality by ~10 points.
Brain age, cubic regression on hippocampus, ventricles and head size: MAE 6.4 / 6.4 /
6.6 years without sex, 5.3 / 5.3 / 5.4 with sex; fitted on the brain-age cohort and
applied to the AD cohort, MAE 4.7 / 4.8 / 4.5 years on its CN members, and a mean gap
of -0.9 / -1.3 / -0.9 (CN), +2.4 / +2.0 / +2.3 (MCI) and +7.5 / +5.7 / +4.7 years (AD).

Speed (this 2-core machine, shared, load ~4): 100 AD subjects in 38.5 s with one
process, 33.5 s with ``--workers 2`` (template loading ~4 s included; ~0.27 s per
subject rendered and written); ~290 kB per image, ~110 kB per truth map.

API:
    - :func:`generate_cohort` (``python -m hyperfusion.synth``): write a cohort.
    - :func:`simulate_subject`: one subject's latent row, EHR row, image and truth.
    - :func:`sample_latent`, :func:`measure_ehr`: the vectorised latent model, for a
      cohort's frame (:data:`FRAMES`).
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
from hyperfusion.synth.cohort import FRAMES, generate_cohort, simulate_subject
from hyperfusion.synth.config import (
    AD_FRAME,
    BRAIN_AGE_FRAME,
    POPULATION,
    RENDER,
    CausalModel,
    CohortFrame,
    RenderConfig,
)
from hyperfusion.synth.latent import measure_ehr, sample_latent

__all__ = [
    "AD_FRAME",
    "BRAIN_AGE_FRAME",
    "FRAMES",
    "POPULATION",
    "RENDER",
    "Anatomy",
    "CausalModel",
    "CohortFrame",
    "RenderConfig",
    "SubjectParams",
    "generate_cohort",
    "load_anatomy",
    "measure_ehr",
    "render_subject",
    "sample_latent",
    "simulate_subject",
]
