"""Class activation maps on 3D networks, through captum: Grad-CAM and HiResCAM.

Grad-CAM (Selvaraju et al. 2017) weighs each channel of a layer by the gradient of the
output averaged over space. HiResCAM (Draelos & Carin 2020) multiplies gradient and
activation voxel by voxel before summing the channels; for networks like these it is
faithful to what the output depends on. On the synthetic cohort the difference is
large: HyperFusion-AD relies on the medial temporal lobe, yet Grad-CAM puts about
chance of its mass there while HiResCAM puts several times chance (the measured
figures: ``weights/metrics.json`` -> ``explanations``, written by ``evaluate``).
Averaging the gradient over space loses the sign of *where* tissue counts for or
against a class.

How a layer's kernel was made does not matter to either: the hook sits on a module of
the network and sees activations and gradients whether the weights were learned or
generated from the EHR.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from hyperfusion.errors import UnknownMethodError

CamMethod = Literal["gradcam", "hirescam"]
CAM_METHODS: tuple[CamMethod, ...] = ("gradcam", "hirescam")


def cam_layer(model: nn.Module, method: CamMethod) -> str:
    """The module a method explains by default: ``model.cam_layers[method]`` when the
    model names one, else its Grad-CAM layer."""
    layers = model.cam_layers
    layer = layers.get(method) or layers.get("gradcam")
    if layer is None:
        raise ValueError(f"{type(model).__name__} sees no image: no layer to explain")
    return layer


def gradcam_maps(
    model: nn.Module,
    image: Tensor,
    tabular: Tensor,
    target: int | Tensor,
    layer: str | None = None,
    relu: bool = True,
    method: CamMethod = "gradcam",
) -> Tensor:
    """Class activation map of output ``target`` per sample, upsampled to the input.

    Args:
        model: a network with the ``model(image, tabular)`` signature, in eval mode.
        image: ``(B, 1, X, Y, Z)``.
        tabular: ``(B, F)``.
        target: the output index explained (class index; 0 for brain age), or
            one index per sample as a ``(B,)`` tensor.
        layer: the module to hook (default :func:`cam_layer`).
        relu: keep only positive evidence before upsampling, as in the paper
            (``False`` keeps the signed map).
        method: ``"gradcam"`` (channel weights = gradient averaged over space) or
            ``"hirescam"`` (gradient x activation per voxel, summed over channels).

    Returns:
        A detached ``(B, X, Y, Z)`` tensor of maps (not normalised).
    """
    if method not in CAM_METHODS:
        raise UnknownMethodError(
            f"Unknown map method '{method}'; accepted: {', '.join(CAM_METHODS)}"
        )
    # captum takes ~0.45 s to import: only when a map is asked for
    from captum.attr import LayerAttribution, LayerGradCam, LayerGradientXActivation

    module = model.get_submodule(layer or cam_layer(model, method))
    with torch.enable_grad():
        if method == "gradcam":
            attr = LayerGradCam(model, module).attribute(
                image,
                target=target,
                additional_forward_args=(tabular,),
                relu_attributions=relu,
            )
        else:
            per_channel = LayerGradientXActivation(model, module).attribute(
                image, target=target, additional_forward_args=(tabular,)
            )
            attr = per_channel.sum(dim=1, keepdim=True)
            attr = torch.relu(attr) if relu else attr
    up = LayerAttribution.interpolate(
        attr, tuple(image.shape[2:]), interpolate_mode="trilinear"
    )
    return up.detach()[:, 0]


__all__ = ["CAM_METHODS", "CamMethod", "cam_layer", "gradcam_maps"]
