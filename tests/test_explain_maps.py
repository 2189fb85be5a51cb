"""Grad-CAM and HiResCAM against hand-computed maps on a toy network.

The toy's output is ``sum over voxels of W(x) * A(x)`` with a fixed spatial weight
``W`` and a one-channel activation ``A`` (= the image): its gradient with respect to
``A`` is ``W`` itself. So Grad-CAM must be ``mean(W) * A`` (the gradient averaged over
space) and HiResCAM ``W * A`` (per voxel), by the methods' definitions.
"""

from __future__ import annotations

import pytest
import torch

from hyperfusion.explain.gradcam import cam_layer, gradcam_maps


class _Weighted(torch.nn.Module):
    cam_layers = {"gradcam": "tap"}

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.tap = torch.nn.Identity()
        self.register_buffer("weight", weight)

    def forward(self, image, tabular):
        score = (self.tap(image) * self.weight).sum(dim=(1, 2, 3, 4))
        return torch.stack([-score, score], dim=1)


@pytest.fixture
def toy():
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(1, 1, 3, 4, 5, generator=gen)
    image = torch.rand(2, 1, 3, 4, 5, generator=gen) + 0.1
    return _Weighted(weight).eval(), image, torch.zeros(2, 1)


def test_gradcam_weighs_the_activation_by_the_mean_gradient(toy):
    model, image, tab = toy
    cam = gradcam_maps(model, image, tab, 1, relu=False)
    expected = model.weight.mean() * image[:, 0]
    torch.testing.assert_close(cam, expected)


def test_hirescam_keeps_the_gradient_per_voxel(toy):
    model, image, tab = toy
    cam = gradcam_maps(model, image, tab, 1, relu=False, method="hirescam")
    torch.testing.assert_close(cam, (model.weight * image)[:, 0])
    # Class 0 is the negated score: the signed map flips, the ReLU map keeps the rest.
    neg = gradcam_maps(model, image, tab, 0, relu=True, method="hirescam")
    torch.testing.assert_close(neg, torch.relu(-(model.weight * image))[:, 0])


def test_hirescam_finds_a_region_that_grad_cam_averages_away():
    # Evidence for class 1 only where W > 0 (a small block); elsewhere W is negative
    # so the mean gradient is negative: Grad-CAM's positive map is empty.
    weight = torch.full((1, 1, 4, 4, 4), -0.2)
    weight[..., :2, :2, :2] = 1.0
    model = _Weighted(weight).eval()
    image = torch.ones(1, 1, 4, 4, 4)
    grad_cam = gradcam_maps(model, image, torch.zeros(1, 1), 1)
    hires = gradcam_maps(model, image, torch.zeros(1, 1), 1, method="hirescam")
    assert grad_cam.sum() == 0
    inside = hires[0, :2, :2, :2].sum() / hires.sum()
    assert inside == pytest.approx(1.0)


def test_the_method_picks_its_layer_and_rejects_unknown_names(toy):
    model, image, tab = toy
    assert cam_layer(model, "hirescam") == "tap"  # falls back to the Grad-CAM layer
    model.cam_layers = {"gradcam": "tap", "hirescam": "tap"}
    assert cam_layer(model, "hirescam") == "tap"
    with pytest.raises(ValueError, match="accepted: gradcam, hirescam"):
        gradcam_maps(model, image, tab, 1, method="saliency")
