"""Optional N4 bias-field correction (Tustison et al. 2010) with SimpleITK.

The field is fitted inside the brain mask on a copy shrunk to about 4 mm (N4 is
smooth by construction, and this keeps it to seconds), then evaluated at full
resolution and divided out. It is off by default: the shipped models were trained
on images without it, and on this 2-core CPU it costs several seconds.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np

from hyperfusion.data.sitk_bridge import to_sitk

FIT_VOXEL_MM = 4.0
ITERATIONS = (20, 20)
CONVERGENCE = 1e-4


def correct_bias(img: nib.Nifti1Image, mask: nib.Nifti1Image) -> nib.Nifti1Image:
    """``img`` divided by the N4 bias field fitted inside ``mask``.

    Args:
        img: a 3D T1 (a head or a stripped brain).
        mask: 1 inside the brain, on ``img``'s grid.

    Returns:
        A float32 image on ``img``'s grid; 0 where ``img`` is 0.
    """
    import SimpleITK as sitk

    image = to_sitk(img)
    brain = sitk.Cast(to_sitk(mask, np.uint8) > 0, sitk.sitkUInt8)
    factors = [max(1, round(FIT_VOXEL_MM / s)) for s in image.GetSpacing()]
    n4 = sitk.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations(list(ITERATIONS))
    n4.SetConvergenceThreshold(CONVERGENCE)
    positive = sitk.Maximum(image, 0.0) + 1e-3  # N4 works on log intensities
    n4.Execute(sitk.Shrink(positive, factors), sitk.Shrink(brain, factors))
    log_field = n4.GetLogBiasFieldAsImage(image)
    field = sitk.GetArrayFromImage(sitk.Exp(log_field)).transpose(2, 1, 0)
    data = np.asarray(img.dataobj, dtype=np.float32)
    corrected = (data / field.reshape(data.shape)).astype(np.float32)
    return nib.Nifti1Image(corrected, np.asarray(img.affine))


__all__ = ["correct_bias"]
