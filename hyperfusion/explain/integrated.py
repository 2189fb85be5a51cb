"""Integrated Gradients on the image against the healthy baseline, through captum,
with SmoothGrad as an option.

The explained function takes a batch of images in the network's views ``(n, V, X, Y,
Z)`` and returns one value per image: a class probability (AD: the hemispheres'
logits averaged, then softmax) or years. Integrated Gradients (Sundararajan et al.
2017) integrates its gradient along the straight path from the healthy brain to this
one, so the attributions sum to ``f(image) - f(healthy)`` up to the quadrature error
(captum's Gauss-Legendre rule with :data:`IG_STEPS` nodes; the returned ``delta``
says how far). SmoothGrad (Smilkov et al. 2017) averages that over copies of the
image with Gaussian noise added inside the brain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

IG_STEPS = 16  # Gauss-Legendre nodes; the completeness error is reported
SMOOTH_SAMPLES = 4  # noisy copies ...
SMOOTH_STEPS = 4  # ... each integrated with this many nodes (as costly as IG)
SMOOTH_NOISE = 0.15  # noise sd as a share of the brain's 1st-99th percentile range
SMOOTH_SEED = 0


@dataclass(frozen=True)
class Attribution:
    """Per-voxel attributions, shaped like the explained images, and the
    completeness gap ``sum(attributions) - (f(x) - f(baseline))`` per image
    (mean over noisy copies for SmoothGrad)."""

    values: Tensor
    delta: Tensor


def _batched(views: Tensor) -> tuple[Tensor, bool]:
    """``(n, V, X, Y, Z)`` and whether ``views`` was one image ``(V, X, Y, Z)``."""
    return (views, False) if views.dim() == 5 else (views.unsqueeze(0), True)


def integrated_gradients(
    forward: Callable[..., Tensor],
    views: Tensor,
    baseline: Tensor,
    steps: int = IG_STEPS,
    target: Tensor | None = None,
    args: tuple = (),
    batch: int | None = None,
) -> Attribution:
    """Integrated Gradients of ``forward`` for ``views`` (one image ``(V, X, Y,
    Z)`` or a batch ``(n, V, X, Y, Z)``) from ``baseline`` ``(V, X, Y, Z)``.

    ``forward(x, *args)`` returns one value per image, or one row per image from
    which ``target`` (one index per image) picks the explained one. ``batch``:
    images evaluated per forward pass (default: every path point at once).
    """
    inputs, single = _batched(views)
    from captum.attr import IntegratedGradients  # captum takes ~0.45 s to import

    ig = IntegratedGradients(forward)
    with torch.enable_grad():
        attr, delta = ig.attribute(
            inputs,
            baselines=baseline.expand_as(inputs),
            target=target,
            additional_forward_args=args or None,
            n_steps=steps,
            internal_batch_size=batch or steps * inputs.shape[0],
            return_convergence_delta=True,
        )
    attr, delta = attr.detach(), delta.detach()
    return Attribution(attr[0], delta) if single else Attribution(attr, delta)


def brain_noise(
    views: Tensor, baseline: Tensor, samples: int, share: float, seed: int
) -> Tensor:
    """``samples`` noisy copies of each image ``(n, V, X, Y, Z)`` ->
    ``(n * samples, V, X, Y, Z)`` (copies of one image adjacent): Gaussian noise
    of sd ``share`` x the 1st-99th percentile range of that image's brain voxels,
    only where the image or the baseline is brain (non-zero)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    out = []
    for image in views:
        brain = (image != 0) | (baseline != 0)
        values = image[brain].float()
        step = max(1, values.numel() // 100_000)
        lo, hi = torch.quantile(values[::step], torch.tensor([0.01, 0.99]))
        noise = torch.randn((samples, *image.shape), generator=gen).to(image.device)
        out.append(image + noise * (share * float(hi - lo)) * brain)
    return torch.cat(out)


def smoothgrad_ig(
    forward: Callable[..., Tensor],
    views: Tensor,
    baseline: Tensor,
    target: Tensor | None = None,
    args: tuple = (),
    samples: int = SMOOTH_SAMPLES,
    steps: int = SMOOTH_STEPS,
    share: float = SMOOTH_NOISE,
    seed: int = SMOOTH_SEED,
) -> Attribution:
    """Integrated Gradients averaged over ``samples`` noisy copies of each image
    (the same draws for a given ``seed``: the map is reproducible)."""
    inputs, single = _batched(views)
    noisy = brain_noise(inputs, baseline, samples, share, seed)
    rep = tuple(a.repeat_interleave(samples, dim=0) for a in args)
    tgt = None if target is None else target.repeat_interleave(samples, dim=0)
    attr = integrated_gradients(forward, noisy, baseline, steps, tgt, rep)
    values = attr.values.view(inputs.shape[0], samples, *inputs.shape[1:]).mean(1)
    delta = attr.delta.view(inputs.shape[0], samples).mean(1)
    return Attribution(values[0], delta) if single else Attribution(values, delta)


__all__ = [
    "IG_STEPS",
    "SMOOTH_NOISE",
    "SMOOTH_SAMPLES",
    "SMOOTH_STEPS",
    "Attribution",
    "brain_noise",
    "integrated_gradients",
    "smoothgrad_ig",
]
