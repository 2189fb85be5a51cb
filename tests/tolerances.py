"""Float tolerances for the tests, argued once from floating-point arithmetic.

Two float32 computations of the same quantity agree bit for bit only when they run
the same operations in the same order. A batched and a per-sample path, AVX2 and
AVX-512 kernels (other SIMD widths), or another thread count sum in other orders, so
their last bits differ. A test that compares such paths needs a tolerance that holds
on every machine, and no looser than that.

- Unit roundoff: float32 ``u = 2**-24`` (about 6.0e-8). float16 and TF32 (cuDNN's
  default for float32 convolutions on NVIDIA GPUs) keep 10 mantissa bits:
  ``2**-11`` (about 4.9e-4) relative.
- A sum or dot product of ``n`` terms is exact to within ``gamma_n * sum(|terms|)``,
  with ``gamma_n = n*u / (1 - n*u)``, about ``n*u`` (Higham, *Accuracy and Stability
  of Numerical Algorithms*, 2nd ed., section 3.1). Two evaluation orders therefore
  differ by at most ``2 * n * u * sum(|terms|)``: ``reduction_atol``. This bound
  covers every machine, not only the one it was measured on.
- A whole network stacks L such layers. The worst-case bound compounds uselessly, but
  independent roundings add like a random walk: about ``sqrt(n) * u`` per layer,
  relative to the layer's scale, so about ``L * sqrt(n) * u`` at the output. The
  largest shipped network (13 convolutions, fan-in up to 3456) gives
  ``13 * 59 * 6e-8 = 4.6e-5``; ``NETWORK_RTOL = 1e-4`` is twice that. Measured here
  (batched vs single rows, 1 vs 2 threads, float32 vs float64) the shipped models
  stay below 3.2e-7 of their output scale, a randomly initialised brain-age net
  (whose output cancels more) below 2.2e-6: margins of 300x and 45x.
- Scale, not value: a logit of 0.07 carries the rounding of terms of size 4. Network
  outputs are compared with an absolute tolerance relative to the largest output
  (``network_atol``), never with a relative tolerance per element. Brain ages near 70
  years get the same treatment; their float32 spacing alone is 7.6e-6.
- Probabilities: softmax is 1/2-Lipschitz from the max-norm of the logits to each
  probability (``sum_j |dp_i/dz_j| = 2 p_i (1 - p_i) <= 1/2``), so
  ``|dp| <= network_atol(logits) / 2``, in absolute terms.

A tolerance is only worth something if the defect it guards against is far outside
it: regression tests also assert, with ``assert_far``, that the wrong answer misses
by many tolerances.
"""

from __future__ import annotations

import math

import numpy as np
import torch

U32 = 2.0**-24  # float32 unit roundoff
U16 = 2.0**-11  # float16 / TF32 unit roundoff (10 mantissa bits)

NETWORK_RTOL = 1e-4  # two float32 evaluation orders of a whole network, per scale
# sum(softmax) - 1 in float32: exps within 1 ulp (2u) each, their sum, one division
# per class: about 8u for a few classes; 2x margin.
PROB_SUM_ATOL = 16 * U32
# float16 autocast (CUDA) rounds weights, inputs and activations to 2^-11. Trained
# networks: about sqrt(L) * U16 = 2e-3 for L = 16 layers; 5x margin (measured with
# CPU float16 autocast on the shipped models: at most 4e-4 of the output scale).
F16_NETWORK_RTOL = 0.01
# Randomly initialised networks cancel: the brain-age net's output (0.09) is a
# difference of terms about 20x larger, and rounding only its weights and inputs to
# float16 already moves it by 0.9% of its scale (measured on the CPU).
F16_UNTRAINED_RTOL = 0.05
LOGIT_SCALE = 8.0  # the shipped AD models' logits stay within +-7 (examples, cohort)
F16_PROB_ATOL = F16_NETWORK_RTOL * LOGIT_SCALE / 2  # softmax is 1/2-Lipschitz


def reduction_atol(n_terms: int, abs_sum, u: float = U32):
    """The most two evaluation orders of a float sum can differ by.

    Args:
        n_terms: the number of terms in each sum (products of a dot product count as
            one term each; add one per bias or extra addition).
        abs_sum: ``sum(|terms|)``, a scalar or an array/tensor (elementwise).
        u: unit roundoff of the arithmetic (``U32`` or ``U16``).

    >>> float(reduction_atol(100, 1.0)) == 2 * 100 * 2.0**-24
    True
    """
    return 2 * n_terms * u * abs_sum


def network_atol(reference, rtol: float = NETWORK_RTOL) -> float:
    """Absolute tolerance for a network's outputs: ``rtol`` times the largest one.

    >>> network_atol(torch.tensor([70.0, -3.0]))
    0.007
    """
    scale = float(np.abs(np.asarray(_numpy(reference), dtype=np.float64)).max())
    return rtol * scale


def rounding_atol(decimals: int, n_values: int = 1) -> float:
    """The most a sum of ``n_values`` values rounded to ``decimals`` can be off by.

    >>> rounding_atol(4, n_values=3)
    0.00015000000000000001
    """
    return n_values * 0.5 * 10.0**-decimals


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def worst_ratio(actual, expected, atol) -> float:
    """``max(|actual - expected| / atol)``: at most 1 when within the tolerance."""
    gap = np.abs(_numpy(actual) - _numpy(expected))
    tol = np.broadcast_to(_numpy(atol), gap.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(gap == 0, 0.0, gap / tol)
    return float(ratio.max()) if ratio.size else 0.0


def assert_within(actual, expected, atol, what: str = "") -> None:
    """``|actual - expected| <= atol`` everywhere (``atol`` may be elementwise)."""
    ratio = worst_ratio(actual, expected, atol)
    assert ratio <= 1.0, f"{what}: off by {ratio:.3g} tolerances"


def assert_far(actual, expected, atol, factor: float = 100.0, what: str = "") -> None:
    """Somewhere ``|actual - expected| > factor * atol``: the tolerance cannot hide
    the defect this value stands for."""
    ratio = worst_ratio(actual, expected, atol)
    assert math.isfinite(ratio) and ratio > factor, (
        f"{what}: only {ratio:.3g} tolerances apart (need > {factor})"
    )
