"""Every map method on tiny fixed-weight networks whose answer is known by hand.

- ``_Region``: conv (1x1x1) -> tap -> global average pool -> linear. At the tap the
  output's gradient is the same at every voxel, so CAM, Grad-CAM and HiResCAM are
  one map there (up to the pool's 1/N), the definition of Draelos & Carin (2020).
- ``_Masked``: the logit of class 1 is ``s * mean(x over a fixed region)``: its
  input gradient is ``s / |region|`` inside the region and 0 outside, so occluding
  the region with a healthy image moves P(class 1) by exactly
  ``P(x) - P(healthy)``, and every other patch by 0.
- ``_Quadratic``: ``f(x) = (w . x)^2``; along the straight path its gradient is a
  polynomial of degree 1 in the path variable, which Gauss-Legendre quadrature
  integrates exactly: Integrated Gradients' completeness holds to float32 rounding.

Tolerances come from :mod:`tests.tolerances`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import LayerGradCam, LayerGradientXActivation
from torch import nn

from hyperfusion.config import Grid
from hyperfusion.data.resampling import grid_image
from hyperfusion.errors import UnknownMethodError
from hyperfusion.explain.cam import (
    TrunkCache,
    activations_and_gradients,
    combine,
    pooled_layer,
)
from hyperfusion.explain.display import grid_bounds, map_on_scan
from hyperfusion.explain.ensemble import Net, view_output
from hyperfusion.explain.integrated import brain_noise, integrated_gradients
from hyperfusion.explain.methods import METHOD_NAMES, METHODS, get_method
from hyperfusion.explain.occlusion import occlusion, patch_labels, ranked_patches
from hyperfusion.models.nets.base import FusionNet
from hyperfusion.tasks import AD
from tests.tolerances import U32, assert_within, reduction_atol

SHAPE = (4, 6, 4)


class _Region(FusionNet):
    """conv -> relu -> tap -> pool -> linear (3 classes); the EHR adds a bias."""

    def __init__(self) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.conv = nn.Conv3d(1, 3, 1)
        self.act = nn.ReLU()
        self.cam_tap = nn.Identity()
        self.fc = nn.Linear(3, 3)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))

    def encode_image(self, image):
        return (self.act(self.conv(image)),)

    def fuse(self, features, tabular):
        pooled = self.cam_tap(features[0]).mean(dim=(2, 3, 4))
        return self.fc(pooled) + tabular[:, :1]


class _Masked(nn.Module):
    """Class 1's logit: ``scale * mean(x inside the region)``; the others 0."""

    def __init__(self, region: torch.Tensor, scale: float = 4.0) -> None:
        super().__init__()
        self.register_buffer("region", region.float())
        self.scale = scale

    def forward(self, image, tabular):
        inside = (image[:, 0] * self.region).sum(dim=(1, 2, 3)) / self.region.sum()
        zero = torch.zeros_like(inside)
        return torch.stack([zero, self.scale * inside, zero], dim=1)


def _image(seed: int = 1, shape=SHAPE, batch: int = 2) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 1, *shape, generator=gen) + 0.1


def test_every_method_is_named_once_with_a_label_and_a_layer_role():
    assert len(set(METHOD_NAMES)) == len(METHOD_NAMES) == 7
    for name, spec in METHODS.items():
        assert spec.name == name and spec.label and spec.description
        assert spec.layer in ("hirescam", "gradcam", "pooled", "input")
    failures = {n for n, s in METHODS.items() if not s.faithful}
    assert failures == {"gradcam", "xgradcam"}
    with pytest.raises(UnknownMethodError, match="accepted: hirescam, cam, ig"):
        get_method("saliency")


def test_cam_family_matches_captum_on_the_same_layer():
    model, image = _Region().eval(), _image()
    tab = torch.zeros(2, 1)
    a, g = activations_and_gradients(model, image, tab, 2, ["cam_tap"])["cam_tap"]
    grad_cam = LayerGradCam(model, model.cam_tap).attribute(
        image, target=2, additional_forward_args=(tab,), relu_attributions=False
    )[:, 0]
    hires = (
        LayerGradientXActivation(model, model.cam_tap)
        .attribute(image, target=2, additional_forward_args=(tab,))
        .sum(1)
        .detach()
    )
    atol = reduction_atol(3 * 96, float(hires.abs().max()) + 1)
    assert_within(combine("gradcam", a, g), grad_cam, atol, "Grad-CAM")
    assert_within(combine("hirescam", a, g), hires, atol, "HiResCAM")


def test_cam_gradcam_and_hirescam_coincide_at_the_pooled_tensor():
    model, image = _Region().eval(), _image()
    assert pooled_layer(model) == "cam_tap"
    found = activations_and_gradients(model, image, torch.zeros(2, 1), 0, ["cam_tap"])
    a, g = found["cam_tap"]
    n = float(np.prod(SHAPE))
    hires = combine("hirescam", a, g)
    atol = reduction_atol(int(n) * 3, float((a.abs() * g.abs()).sum()) * n)
    # CAM weighs by d out / d pooled = N * gradient at each voxel.
    assert_within(combine("cam", a, g), n * hires, atol, "CAM vs N x HiResCAM")
    assert_within(combine("gradcam", a, g), hires, atol / n, "Grad-CAM vs HiResCAM")


def test_xgradcam_weighs_gradients_by_the_activation_share():
    # One channel equal to the image and gradient W: weight = sum(A W) / sum(A).
    gen = torch.Generator().manual_seed(3)
    a = torch.rand(1, 1, *SHAPE, generator=gen) + 0.1
    w = torch.randn(1, 1, *SHAPE, generator=gen)
    expected = ((a * w).sum() / a.sum()) * a[:, 0]
    got = combine("xgradcam", a, w)
    assert_within(got, expected, reduction_atol(96, float((a * w.abs()).sum())))


@pytest.mark.parametrize("layer", ["conv", "cam_tap"])
def test_the_trunk_cache_gives_the_full_pass_gradients(layer):
    # "conv" runs in encode_image (the cached graph's backward), "cam_tap" in fuse.
    model, views = _Region().eval(), _image(batch=2)
    tab = torch.full((2, 1), 0.5)
    with torch.no_grad():
        feats = model.encode_image(views)
    cache = TrunkCache()
    a, g = cache.activation_gradient(("img", 0), model, views, feats, tab, 1, layer)
    a2, g2 = cache.activation_gradient(("img", 0), model, views, feats, tab, 1, layer)
    ref_a, ref_g = activations_and_gradients(model, views, tab, 1, [layer])[layer]
    atol = reduction_atol(96 * 3, float(ref_g.abs().max()) * 96)
    assert_within(a, ref_a, reduction_atol(2, float(ref_a.abs().max())), "activation")
    assert_within(g, ref_g, atol, "gradient")
    assert_within(g2, g, 0.0, "the second call, from the cached graph")


def _views_and_region():
    region = torch.zeros(SHAPE, dtype=torch.bool)
    region[:2, :3, :2] = True  # exactly patch 0 of a (2, 2, 2) tiling
    views = _image(batch=2)[:, 0]  # (V = 2, X, Y, Z)
    healthy = torch.full_like(views, 0.3)
    return region, views, healthy


def test_occluding_the_only_informative_region_gives_the_whole_change():
    region, views, healthy = _views_and_region()
    model = _Masked(region).eval()
    net = Net(model, torch.zeros(1, 1))
    forward = view_output(net, AD, 1, views.unsqueeze(1))
    maps, labels = occlusion(forward, views, healthy, parts=(2, 2, 2))
    # The change when patch 0 of view v turns healthy, computed directly.
    logits = model(views.unsqueeze(1), torch.zeros(2, 1))
    for v in range(2):
        changed = views.clone()
        changed[v][region] = healthy[v][region]
        after = model(changed.unsqueeze(1), torch.zeros(2, 1)).mean(0).softmax(0)[1]
        full = logits.mean(0).softmax(0)[1] - after
        assert float(full) > 0.01  # the region matters
        inside = maps[v][region]
        assert_within(inside, full.expand_as(inside), 4 * U32, f"view {v} region")
        assert float(maps[v][~region].abs().max()) <= 4 * U32
    assert labels.shape == (2, *SHAPE) and (labels >= 0).all()


def test_ranked_patches_put_the_largest_effect_first_with_its_side():
    grid = Grid((4, 2, 2), 2.0, (-3.0, 0.0, 0.0))
    labels = patch_labels(grid.shape, (2, 1, 1))  # left half 0, right half 1
    volume = np.where(labels == 1, 0.5, 0.1).astype(np.float32)
    table = ranked_patches(volume, labels, grid)
    assert table["rank"].tolist() == [1, 2]
    assert table["side"].tolist() == ["right", "left"]
    assert table["effect"].tolist() == pytest.approx([0.5, 0.1])


class _Quadratic(nn.Module):
    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("weight", weight)

    def forward(self, x):  # (n, V, X, Y, Z) -> (n,)
        return (x * self.weight).sum(dim=(1, 2, 3, 4)) ** 2


def test_integrated_gradients_are_complete_against_the_baseline():
    gen = torch.Generator().manual_seed(5)
    weight = torch.randn(2, *SHAPE, generator=gen) / 10
    x = torch.rand(2, *SHAPE, generator=gen)
    base = torch.rand(2, *SHAPE, generator=gen) * 0.2
    model = _Quadratic(weight)
    attr = integrated_gradients(model, x, base, steps=4)
    change = model(x[None]) - model(base[None])
    # Exact quadrature (degree 1 in the path variable); what remains is float32
    # rounding of the 192-term dot products and the sum over 4 steps x 192 voxels.
    terms = float((weight.abs() * (x.abs() + base.abs())).sum())
    atol = reduction_atol(192 * 4 + 192, terms**2 * 4)
    assert_within(attr.values.sum(), change[0], atol, "completeness")
    assert abs(float(attr.delta[0])) <= atol


def test_smoothgrad_noise_is_reproducible_and_stays_in_the_brain():
    views = torch.zeros(2, *SHAPE)
    views[:, 1:3, 1:4, 1:3] = 1.0 + torch.arange(12.0).view(1, 2, 3, 2)
    noisy = brain_noise(views[None], torch.zeros_like(views), 3, 0.15, seed=0)
    again = brain_noise(views[None], torch.zeros_like(views), 3, 0.15, seed=0)
    assert noisy.shape == (3, 2, *SHAPE)
    assert torch.equal(noisy, again)
    outside = (views == 0).expand_as(noisy)
    assert (noisy[outside] == 0).all() and (
        noisy[~outside] != views.expand_as(noisy)[~outside]
    ).any()


def test_maps_go_onto_the_scan_clipped_to_the_brain():
    grid = Grid((4, 4, 4), 2.0, (0.0, 0.0, 0.0))
    scan_data = np.ones((8, 8, 8), np.float32)
    scan_data[:, :, :2] = 0  # background
    scan = grid_image(scan_data, Grid((8, 8, 8), 1.0, (0.0, 0.0, 0.0)))
    on = map_on_scan(np.ones(grid.shape, np.float32), grid, scan)
    assert on.shape == (8, 8, 8)
    assert (on[:, :, :2] == 0).all() and on[2:6, 2:6, 2:6].min() == pytest.approx(1.0)
    assert grid_bounds(grid) == ((-1.0, 7.0), (-1.0, 7.0), (-1.0, 7.0))
