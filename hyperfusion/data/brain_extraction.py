"""Brain extraction with deepbet, and the check that says it is already done.

deepbet (Fisch et al. 2024, MIT; its two TorchScript networks ship inside the wheel)
finds the brain in a T1 with skull on the CPU in seconds. :func:`extract_brain`
runs it in memory (nothing is written) and returns the mask and the stripped image;
:func:`looks_skull_stripped` tells from the image alone (no registration needed)
whether a scan is already stripped: a stripped T1 has exactly nothing around a
brain-sized blob, a head has skull, scalp and noise around it.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import nibabel as nib
import numpy as np

from hyperfusion.errors import PreprocessingError

# Plausible volume of the mask deepbet returns (brain and the CSF around it; the
# MNI152 2009 template's brain mask is 1883 ml).
MASK_ML_RANGE = (900.0, 2100.0)
# A voxel "holds signal" above this fraction of the image's 99.5th percentile.
SIGNAL_FRACTION = 0.05
# Signal volume of a stripped brain: above the largest plausible brain scaled by
# an affine registration's largest plausible scale (2100 ml x 1.1^3 ~ 2800 ml),
# and far below a head with its skull, scalp and background noise (over 3000 ml).
STRIPPED_ML_RANGE = (400.0, 2800.0)
_lock = threading.Lock()  # deepbet keeps per-run state (its bounding box)


@dataclass(frozen=True)
class BrainMask:
    """What :func:`extract_brain` found.

    Attributes:
        brain: the input with every voxel outside the mask set to 0.
        mask: uint8 (1 = brain) on the input's grid.
        volume_ml: the mask's volume in millilitres.
    """

    brain: nib.Nifti1Image
    mask: nib.Nifti1Image
    volume_ml: float


def voxel_ml(img: nib.Nifti1Image) -> float:
    """The volume of one voxel in millilitres."""
    return float(abs(np.linalg.det(np.asarray(img.affine)[:3, :3]))) / 1000.0


def signal_mask(img: nib.Nifti1Image) -> np.ndarray:
    """The voxels holding signal: above ``SIGNAL_FRACTION`` of the 99.5th
    percentile of the non-zero magnitudes (bool, ``img``'s shape)."""
    data = np.abs(np.asarray(img.dataobj, dtype=np.float32))
    nonzero = data[data > 0]
    if nonzero.size == 0:
        return np.zeros(data.shape, dtype=bool)
    return data > SIGNAL_FRACTION * float(np.percentile(nonzero, 99.5))


def signal_volume_ml(img: nib.Nifti1Image) -> float:
    """Millilitres of the voxels holding signal (see :func:`signal_mask`).

    Example:
        >>> data = np.zeros((20, 20, 20), np.float32)
        >>> data[5:15, 5:15, 5:15] = 1.0
        >>> round(signal_volume_ml(nib.Nifti1Image(data, np.diag([2.0, 2, 2, 1]))), 6)
        8.0
    """
    return float(signal_mask(img).sum()) * voxel_ml(img)


def looks_skull_stripped(img: nib.Nifti1Image) -> tuple[bool, float]:
    """Whether ``img`` looks skull-stripped already, and its signal volume (ml)."""
    volume = signal_volume_ml(img)
    low, high = STRIPPED_ML_RANGE
    return low <= volume <= high, volume


def _wants_gpu(device: str | None) -> bool:
    import torch

    if device is None:
        return torch.cuda.is_available()
    return str(device).startswith("cuda")


@lru_cache(maxsize=2)
def _extractor(gpu: bool) -> Any:
    from deepbet import BrainExtraction

    with warnings.catch_warnings():  # torch.jit.load's deprecation notice
        warnings.simplefilter("ignore", DeprecationWarning)
        return BrainExtraction(no_gpu=not gpu)


def extract_brain(
    img: nib.Nifti1Image, device: str | None = None, threshold: float = 0.5
) -> BrainMask:
    """Find the brain in a T1 with deepbet.

    Args:
        img: a 3D image from ``load_mri`` (any orientation).
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
        threshold: deepbet's probability threshold (its default, 0.5).

    Returns:
        A :class:`BrainMask` on ``img``'s grid.

    Raises:
        PreprocessingError: deepbet found no brain.
    """
    data = np.asarray(img.dataobj, dtype=np.float32)
    source = nib.Nifti1Image(data, np.asarray(img.affine))  # geometry only
    try:
        with _lock:
            _, mask_img, _ = _extractor(_wants_gpu(device)).run(
                source, threshold=threshold
            )
    except (AssertionError, ValueError, RuntimeError) as exc:
        raise PreprocessingError(
            "brain extraction found no brain in the image; a T1-weighted head or"
            " brain scan is accepted"
        ) from exc
    mask = np.asarray(mask_img.dataobj).reshape(data.shape) > 0
    if not mask.any():
        raise PreprocessingError(
            "brain extraction found no brain in the image; a T1-weighted head or"
            " brain scan is accepted"
        )
    brain = nib.Nifti1Image(np.where(mask, data, 0.0).astype(np.float32), img.affine)
    mask_out = nib.Nifti1Image(mask.astype(np.uint8), img.affine)
    return BrainMask(brain, mask_out, float(mask.sum()) * voxel_ml(img))


__all__ = [
    "MASK_ML_RANGE",
    "BrainMask",
    "extract_brain",
    "looks_skull_stripped",
    "signal_mask",
    "signal_volume_ml",
]
