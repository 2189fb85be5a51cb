"""Do the maps point at the disease? Grad-CAM and HiResCAM mass inside the
generator's true disease-effect region, against the region's share of the volume.

Measured for one model (:data:`EXPLAINED`, HyperFusion-AD) on the MCI and AD
subjects, for the true class; :func:`measure_cams` runs every layer compared, and
:func:`summarise_cams` takes the mean ± sd over seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from hyperfusion.evaluate.schema import (
    LOC_KEYS,
    CamProtocol,
    CamResults,
    CamSummary,
    Localisation,
    LocalisationStats,
    Stat,
)
from hyperfusion.explain.gradcam import CamMethod, cam_layer, gradcam_maps
from hyperfusion.tasks import AD
from hyperfusion.train.data import SplitData, image_batch, split_data, tabular_batch

# The model whose maps are measured: (task, model name).
EXPLAINED = (AD.name, "hyperfusion")
TRUTH_THRESHOLD = 0.1  # the disease region: truth > 10 % of the subject's maximum
GRADCAM_BATCH = 16
# Also measured, for comparison with the default (block 3, models.nets.resnet):
# block 4's output (2 x 2 x 2 voxels per hemisphere on the demo crop) and block 2's.
EXTRA_GRADCAM_LAYERS = ("trunk.cam_tap", "trunk.blocks.1")


def _view_cams(
    model: nn.Module,
    data: SplitData,
    idx: np.ndarray,
    device: torch.device,
    layer: str | None = None,
    method: CamMethod = "gradcam",
) -> np.ndarray:
    """Maps ``(B, V, X, Y, Z)`` of the true class, per view (hemisphere), ReLU after
    trilinear upsampling to the crop (``layer``: default the method's layer)."""
    target = torch.from_numpy(data.targets[idx]).to(device)
    tab = tabular_batch(data, idx, device)
    maps = []
    for view in range(AD.image_views):
        image = image_batch(data, idx, device, view)
        cam = gradcam_maps(
            model, image, tab, target, layer=layer, relu=False, method=method
        )
        maps.append(torch.relu(cam).cpu().numpy())
    return np.stack(maps, axis=1)


def part_with_truth(
    df: pd.DataFrame,
    split: pd.Series,
    part: str,
    images: np.ndarray,
    preprocessor: Any,
    grid: Any,
    truth_of: Callable[[pd.DataFrame, Any], np.ndarray],
) -> tuple[SplitData, np.ndarray]:
    """One part of an AD split and its ground-truth maps (zero for CN subjects, who
    have no disease effect), the inputs of :func:`gradcam_localisation`.

    ``truth_of(rows, grid)`` returns the maps of the given MCI / AD rows (e.g.
    :func:`~hyperfusion.data.datasets.truth_arrays` with a cache).
    """
    mask = (split == part).to_numpy()
    rows = df[mask].reset_index(drop=True)
    data = split_data(AD, rows, images[mask], preprocessor)
    keep = data.targets > 0
    truth = np.zeros((len(rows), *images.shape[1:]), dtype=np.float16)
    truth[keep] = truth_of(rows[keep].reset_index(drop=True), grid)
    return data, truth


def gradcam_localisation(
    model: nn.Module,
    data: SplitData,
    truth: np.ndarray,
    device: torch.device,
    threshold: float = TRUTH_THRESHOLD,
    layer: str | None = None,
    method: CamMethod = "gradcam",
) -> Localisation:
    """Share of Grad-CAM (or HiResCAM) mass inside the true disease region, against
    chance.

    Explained: the true class of every MCI and AD subject of ``data`` (the disease
    effect exists only there). Per subject, the region is ``truth > threshold ·
    max(truth)`` on the crop (both hemispheres); the mass share is the Grad-CAM sum
    inside the region over the sum on both hemispheres, and chance is the region's
    share of the crop (``chance_brain``: of the brain voxels, a stricter baseline).

    Args:
        model: an AD network in eval mode.
        data: the split's inputs (images with both hemispheres).
        truth: :func:`~hyperfusion.data.datasets.truth_arrays` of the same rows.
        device: where the model is.
        threshold: the region threshold, a fraction of each subject's maximum.
        layer: the module explained (default: the method's layer of the model).
        method: ``"gradcam"`` or ``"hirescam"``.

    Returns:
        Means over subjects of ``mass_inside``, ``chance`` and ``chance_brain``,
        ``ratio`` (= mean mass / mean chance), and ``n`` subjects used.
    """
    model.eval()
    rows = np.flatnonzero(data.targets > 0)
    inside, chance, chance_brain = [], [], []
    for start in range(0, len(rows), GRADCAM_BATCH):
        idx = rows[start : start + GRADCAM_BATCH]
        cams = _view_cams(model, data, idx, device, layer, method)
        cams = cams.astype(np.float64)
        for cam, t, img in zip(cams, truth[idx], data.images[idx], strict=True):
            t = t.astype(np.float32)
            region = t > threshold * t.max()
            total = cam.sum()
            if not region.any() or total <= 0:
                continue
            brain = img != 0
            inside.append(float(cam[region].sum() / total))
            chance.append(float(region.mean()))
            chance_brain.append(float((region & brain).sum() / max(brain.sum(), 1)))
    if not inside:
        return Localisation(n=0)
    mass, base = float(np.mean(inside)), float(np.mean(chance))
    return Localisation(
        n=len(inside),
        mass_inside=round(mass, 6),
        chance=round(base, 6),
        chance_brain=round(float(np.mean(chance_brain)), 6),
        ratio=round(mass / base, 4),
        ratio_brain=round(mass / float(np.mean(chance_brain)), 4),
    )


def measure_cams(
    model: nn.Module, data: SplitData, truth: np.ndarray, device: torch.device
) -> CamResults:
    """Every layer compared: Grad-CAM at the model's layer and at
    :data:`EXTRA_GRADCAM_LAYERS` (those it has), HiResCAM at its own layer and at
    the Grad-CAM layer."""
    grad, hires = cam_layer(model, "gradcam"), cam_layer(model, "hirescam")
    names = dict(model.named_modules())

    def measure(layer: str, method: CamMethod = "gradcam") -> Localisation:
        return gradcam_localisation(
            model, data, truth, device, layer=layer, method=method
        )

    return CamResults(
        gradcam_layer=grad,
        localisation=gradcam_localisation(model, data, truth, device),
        localisation_extra={
            layer: measure(layer)
            for layer in EXTRA_GRADCAM_LAYERS
            if layer in names and layer != grad
        },
        hirescam_layer=hires,
        localisation_hirescam={
            layer: measure(layer, "hirescam") for layer in dict.fromkeys((hires, grad))
        },
    )


def _stats(results: Sequence[Localisation]) -> LocalisationStats | None:
    """Mean ± sd over the seeds that measured any subject (None: none did)."""
    used = [r for r in results if r.n]
    if not used:
        return None
    return LocalisationStats(
        *(Stat.over([getattr(r, key) for r in used]) for key in LOC_KEYS)
    )


def summarise_cams(seeds: Sequence[CamResults | None]) -> CamSummary | None:
    """:func:`measure_cams` over seeds: the layers of the first seed, mean ± sd of
    each value (None when no seed measured the model's own layer)."""
    first = seeds[0]
    own = _stats([s.localisation for s in seeds if s is not None])
    if first is None or own is None:
        return None
    measured = [s for s in seeds if s is not None]

    def over(layer: str, results: Callable[[CamResults], dict]) -> Any:
        missing = Localisation(n=0)
        return _stats([results(s).get(layer, missing) for s in measured])

    return CamSummary(
        gradcam_layer=first.gradcam_layer,
        localisation=own,
        localisation_extra={
            layer: over(layer, lambda s: s.localisation_extra)
            for layer in first.localisation_extra
        },
        hirescam_layer=first.hirescam_layer,
        localisation_hirescam={
            layer: over(layer, lambda s: s.localisation_hirescam)
            for layer in first.localisation_hirescam
        },
    )


def cam_protocol(unseen: bool) -> CamProtocol:
    """How :func:`measure_cams` measures, in words, for ``metrics.json``."""
    return CamProtocol(
        models="/".join(EXPLAINED),
        layer="model.cam_layers['gradcam'] (also: "
        + ", ".join(EXTRA_GRADCAM_LAYERS)
        + " for comparison); HiResCAM: model.cam_layers['hirescam'] and the "
        "Grad-CAM layer",
        subjects="MCI and AD subjects of the "
        + ("whole new cohort" if unseen else "test split"),
        target="the true class",
        region=f"ground-truth map > {TRUTH_THRESHOLD:g} x its maximum",
        chance="the region's share of the crop volume",
    )


__all__ = [
    "EXPLAINED",
    "EXTRA_GRADCAM_LAYERS",
    "TRUTH_THRESHOLD",
    "cam_protocol",
    "gradcam_localisation",
    "measure_cams",
    "part_with_truth",
    "summarise_cams",
]
