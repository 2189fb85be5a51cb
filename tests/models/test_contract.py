"""Every registered network keeps the FusionNet contract the engine relies on.

The engine caches ``encode_image`` per image and re-runs only ``fuse`` after an EHR
edit, so ``fuse(encode_image(x), t)`` must be ``forward(x, t)`` for every ``t``, and
``fuse`` must leave the cached tuple as it found it.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import Tensor

from hyperfusion.models.layers import HyperLayer
from hyperfusion.models.nets.base import FusionNet
from hyperfusion.models.registry import REGISTRY, build_model

from .conftest import TINY_AD, TINY_BRAIN_AGE, differs_f32

SPECS = list(REGISTRY.values())
IDS = [f"{s.task}/{s.name}" for s in SPECS]


def _tiny(task: str, name: str) -> FusionNet:
    torch.manual_seed(0)
    cfg = TINY_AD if task == "ad" else TINY_BRAIN_AGE
    model = build_model(task, name, cfg).eval()
    with torch.no_grad():
        for p in model.parameters():  # FiLM's zero-initialised modulator hides the EHR
            if p.dim() > 1 and not p.any():
                p.normal_(std=0.1)
    return model


def _inputs(model: FusionNet, n: int = 2) -> tuple[Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(0)
    image = torch.randn(n, 1, *model.cfg.input_shape, generator=g)
    tabular = torch.randn(n, model.cfg.n_tabular, generator=g)
    return image, tabular, tabular + torch.randn(tabular.shape, generator=g)


def _clone(features: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    return tuple(f.clone() for f in features)


def _equal(a: tuple[Tensor, ...], b: tuple[Tensor, ...]) -> bool:
    if len(a) != len(b):
        return False
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture(params=SPECS, ids=IDS)
def spec_and_model(request):
    spec = request.param
    return spec, _tiny(spec.task, spec.name)


def test_every_net_is_a_fusion_net_with_the_one_forward(spec_and_model):
    _, model = spec_and_model
    assert isinstance(model, FusionNet)
    assert type(model).forward is FusionNet.forward


def test_cached_features_serve_every_ehr_and_are_left_untouched(spec_and_model):
    """An EHR edit re-runs only ``fuse`` on the cached tuple: the output must be
    what a full forward gives, and neither fuse nor forward may change the cache.

    The same operations run on the same shapes in both paths, so the results are
    bit-identical on CPU: exact comparisons, no tolerance.
    """
    _, model = spec_and_model
    image, tabular, edited = _inputs(model)
    with torch.no_grad():
        cached = model.encode_image(image)
        kept = _clone(cached)
        for t in (tabular, edited, tabular):
            assert torch.equal(model.fuse(cached, t), model(image, t))
            assert _equal(cached, kept)  # fuse did not modify the cache in place
        assert _equal(model.encode_image(image), kept)  # and nothing leaked into it


def test_the_ehr_reaches_fuse_exactly_when_the_model_uses_it(spec_and_model):
    spec, model = spec_and_model
    image, tabular, edited = _inputs(model)
    with torch.no_grad():
        cached = model.encode_image(image)
        changed = differs_f32(model.fuse(cached, tabular), model.fuse(cached, edited))
    assert changed == spec.uses_tabular
    assert (cached == ()) == (not spec.uses_image)


def test_hyper_modules_exist_exactly_in_the_hypernetwork_models(spec_and_model):
    spec, model = spec_and_model
    hyper = model.hyper_modules()
    assert bool(hyper) == (spec.stage == "hypernetwork")
    found = [m for m in model.modules() if isinstance(m, HyperLayer)]
    assert list(hyper.values()) == found  # every generated layer, once, in order
    _, tabular, _ = _inputs(model, n=3)
    with torch.no_grad():
        embeddings = model.layer_embeddings(tabular)
        assert set(embeddings) == set(hyper)
        for name, layer in hyper.items():
            w, b = layer.generate(embeddings[name])
            assert w.shape == (3, *layer.weight_shape), name
            assert b.shape == (3, layer.weight_shape[0]), name


def test_every_cam_layer_names_a_module(spec_and_model):
    spec, model = spec_and_model
    assert bool(model.cam_layers) == spec.uses_image
    assert set(model.cam_layers) <= {"gradcam", "hirescam"}
    for method, path in model.cam_layers.items():
        assert isinstance(model.get_submodule(path), torch.nn.Module), method


def test_the_hyper_layer_names_are_those_of_the_configuration():
    cfg = dataclasses.replace(TINY_AD, hyper_layers=("block2.shortcut", "fc2"))
    model = build_model("ad", "hyperfusion", cfg)
    assert list(model.hyper_modules()) == ["block2.shortcut", "fc2"]
    assert model.hyper_modules()["fc2"] is model.head.fc2
    brain = build_model("brain-age", "hyperfusion", TINY_BRAIN_AGE)
    assert list(brain.hyper_modules()) == ["fc1", "fc2", "fc3", "fc4"]


def test_a_subclass_may_not_override_forward():
    with pytest.raises(TypeError, match="implement encode_image and fuse"):

        class _Bad(FusionNet):
            def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
                return ()

            def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
                return tabular

            def forward(self, image: Tensor, tabular: Tensor) -> Tensor:
                return tabular
