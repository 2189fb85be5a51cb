"""Grad-CAM (Selvaraju et al. 2017) on 3D networks, through captum.

How a layer's kernel was made does not matter to Grad-CAM: the hook sits on a module
of the network (its ``gradcam_layer``) and sees activations and gradients whether the
weights were learned or generated from the EHR.
"""

from __future__ import annotations

import torch
from captum.attr import LayerAttribution, LayerGradCam
from torch import Tensor, nn


def gradcam_maps(
    model: nn.Module,
    image: Tensor,
    tabular: Tensor,
    target: int | Tensor,
    layer: str | None = None,
    relu: bool = True,
) -> Tensor:
    """Grad-CAM of output ``target`` for each sample, upsampled to the input grid.

    Args:
        model: a network with the ``model(image, tabular)`` signature, in eval mode.
        image: ``(B, 1, X, Y, Z)``.
        tabular: ``(B, F)``.
        target: the output index explained (class index; 0 for brain age), or
            one index per sample as a ``(B,)`` tensor.
        layer: the module to hook (default ``model.gradcam_layer``).
        relu: keep only positive evidence before upsampling, as in the paper
            (``False`` keeps the signed map).

    Returns:
        A detached ``(B, X, Y, Z)`` tensor of maps (not normalised).
    """
    module = model.get_submodule(layer or model.gradcam_layer)
    explainer = LayerGradCam(model, module)
    with torch.enable_grad():
        attr = explainer.attribute(
            image,
            target=target,
            additional_forward_args=(tabular,),
            relu_attributions=relu,
        )
    up = LayerAttribution.interpolate(
        attr, tuple(image.shape[2:]), interpolate_mode="trilinear"
    )
    return up.detach()[:, 0]
