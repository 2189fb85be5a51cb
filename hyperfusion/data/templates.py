"""Offline MNI152 templates, loaded once per process.

The templates ship inside nilearn, so these loaders never touch the network (they
wrap ``nilearn.datasets.load_mni152_*``, never ``fetch_*``). Results are memoised with
:func:`functools.lru_cache` (keyed on the normalised resolution, so ``load_template()``
and ``load_template(resolution=2)`` share one entry): callers share one image object
and must not modify it in place.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import nibabel as nib

_Kind = Literal["t1", "gm", "wm", "mask"]


@lru_cache(maxsize=8)
def _load(kind: _Kind, resolution: int) -> nib.Nifti1Image:
    from nilearn import datasets

    loaders = {
        "t1": datasets.load_mni152_template,
        "gm": datasets.load_mni152_gm_template,
        "wm": datasets.load_mni152_wm_template,
        "mask": datasets.load_mni152_brain_mask,
    }
    return loaders[kind](resolution=resolution)


def _resolution(resolution: int) -> int:
    if resolution not in (1, 2):
        raise ValueError(f"resolution must be 1 or 2 (mm), got {resolution!r}")
    return int(resolution)


def load_template(resolution: int = 2) -> nib.Nifti1Image:
    """The skull-stripped MNI152 T1 template, intensities scaled to [0, 1].

    Args:
        resolution: voxel size in mm: 1 (197x233x189) or 2 (99x117x95, the first
            call resamples and takes about 2 s).

    Returns:
        A shared float32 RAS image; do not modify it.

    Example:
        >>> load_template(2).shape
        (99, 117, 95)
    """
    return _load("t1", _resolution(resolution))


def load_gm_template(resolution: int = 2) -> nib.Nifti1Image:
    """The MNI152 grey-matter probability template (values in [0, 1]), shared.

    Example:
        >>> load_gm_template(2).shape
        (99, 117, 95)
    """
    return _load("gm", _resolution(resolution))


def load_wm_template(resolution: int = 2) -> nib.Nifti1Image:
    """The MNI152 white-matter probability template (values in [0, 1]), shared.

    Example:
        >>> load_wm_template(2).shape
        (99, 117, 95)
    """
    return _load("wm", _resolution(resolution))


def load_brain_mask(resolution: int = 2) -> nib.Nifti1Image:
    """The MNI152 whole-brain mask (1 inside the brain, 0 outside), shared.

    Example:
        >>> int(load_brain_mask(2).get_fdata().max())
        1
    """
    return _load("mask", _resolution(resolution))


__all__ = ["load_brain_mask", "load_gm_template", "load_template", "load_wm_template"]
