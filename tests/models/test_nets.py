"""Every registered network: one signature, per-sample correctness, options that reach
their layers, and the encode/fuse split the engine caches on."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hyperfusion.errors import UnknownModelError
from hyperfusion.explain.gradcam import cam_layer
from hyperfusion.models.layers import HyperConv3d, HyperLinear
from hyperfusion.models.registry import MODEL_NAMES, build_model

from .conftest import TINY_AD, TINY_BRAIN_AGE, assert_close_f32, differs_f32

ALL_MODELS = [(task, name) for task, names in MODEL_NAMES.items() for name in names]


def _tiny(task: str, name: str, **cfg_changes) -> torch.nn.Module:
    cfg = TINY_AD if task == "ad" else TINY_BRAIN_AGE
    torch.manual_seed(0)
    return build_model(task, name, dataclasses.replace(cfg, **cfg_changes)).eval()


def _generated(model, tabular: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each hyper layer's W(t), by the path explain/weights.py uses."""
    embeddings = model.layer_embeddings(tabular)
    return {
        name: module.generate(embeddings[name])[0]
        for name, module in model.hyper_modules().items()
    }


def _batch(model: torch.nn.Module, n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(n, 1, *model.cfg.input_shape, generator=g)
    tabular = torch.randn(n, model.cfg.n_tabular, generator=g)
    return image, tabular


@pytest.mark.parametrize(("task", "name"), ALL_MODELS)
def test_output_shape_and_encode_fuse_equals_forward(task, name):
    model = _tiny(task, name)
    image, tabular = _batch(model, 3)
    with torch.no_grad():
        out = model(image, tabular)
        split = model.fuse(model.encode_image(image), tabular)
    assert out.shape == ((3, 3) if task == "ad" else (3, 1))
    assert torch.equal(out, split)


@pytest.mark.parametrize(("task", "name"), ALL_MODELS)
def test_each_row_of_a_batch_equals_the_sample_run_alone(task, name):
    """Acceptance: 4 different images with 4 different EHR vectors, eval mode."""
    model = _tiny(task, name)
    image, tabular = _batch(model, 4, seed=1)
    with torch.no_grad():
        batched = model(image, tabular)
        for i in range(4):
            alone = model(image[i : i + 1], tabular[i : i + 1])
            assert_close_f32(batched[i : i + 1], alone)


@pytest.mark.parametrize(("task", "name"), ALL_MODELS)
def test_records_on_one_images_features_equal_each_record_run_alone(task, name):
    """``fuse_records`` (K records, one image's V views; HyperFusion's own shared
    path) equals ``fuse`` on each record with the views' outputs averaged."""
    model = _tiny(task, name)
    image, _ = _batch(model, 2, seed=2)  # two views of one image (two hemispheres)
    _, tabular = _batch(model, 5, seed=3)
    with torch.no_grad():
        features = model.encode_image(image)
        together = model.fuse_records(features, tabular)
        alone = [
            model.fuse(features, tabular[i : i + 1].expand(2, -1)).mean(0)
            for i in range(5)
        ]
    assert together.shape == (5, 3 if task == "ad" else 1)
    assert_close_f32(together, torch.stack(alone))
    if name == "hyperfusion":  # its own path: the records' outputs must differ,
        # or a record borrowing another's embedding would pass unseen
        assert differs_f32(together[0], together[1])


@pytest.mark.parametrize(("task", "name"), ALL_MODELS)
def test_cam_layers_name_a_module_hit_by_forward(task, name):
    model = _tiny(task, name)
    if not model.cam_layers:
        assert name == "tabular-only"
        return
    for method in ("gradcam", "hirescam"):
        layer = model.get_submodule(cam_layer(model, method))
        seen = []
        handle = layer.register_forward_hook(
            lambda m, i, o, seen=seen: seen.append(o.shape)
        )
        image, tabular = _batch(model, 2)
        with torch.no_grad():
            model(image, tabular)
        handle.remove()
        assert len(seen) == 1 and len(seen[0]) == 5  # one 3D map (B, C, X, Y, Z)


@pytest.mark.parametrize(
    "hyper_layers",
    [("block1.shortcut",), ("block3.shortcut", "block4.shortcut"), ("fc1",), ("fc2",)],
)
def test_hyper_layers_option_reaches_the_named_layers(hyper_layers):
    model = _tiny("ad", "hyperfusion", hyper_layers=hyper_layers)
    assert set(model.hyper_modules()) == set(hyper_layers)
    for block_name, module in model.hyper_modules().items():
        assert isinstance(module, HyperConv3d | HyperLinear), block_name
    image, tabular = _batch(model, 3)
    with torch.no_grad():
        out = model(image, tabular)
        assert torch.equal(out, model.fuse(model.encode_image(image), tabular))
        weights = _generated(model, tabular)
    assert set(weights) == set(hyper_layers)
    assert all(w.shape[0] == 3 for w in weights.values())


def test_image_only_has_no_hyper_layer_even_with_a_hyper_config():
    model = _tiny("ad", "image-only")
    assert not any(isinstance(m, HyperConv3d | HyperLinear) for m in model.modules())


def test_width_option_reaches_every_block():
    model = _tiny("ad", "hyperfusion", init_features=6)
    convs = [m for m in model.trunk.modules() if isinstance(m, torch.nn.Conv3d)]
    assert convs[0].out_channels == 6
    assert model.trunk.out_features == 6 * 16


def test_brain_age_sexes_start_identical_and_generate_separate_weights():
    model = _tiny("brain-age", "hyperfusion")
    female, male = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    image, _ = _batch(model, 1)
    with torch.no_grad():
        assert torch.equal(model(image, female), model(image, male))
        model.embeddings[0].weight.copy_(torch.tensor([[1.0, 2.0]]))
        assert not torch.equal(model(image, female), model(image, male))
        w_f = _generated(model, female)["fc1"]
        w_m = _generated(model, male)["fc1"]
    assert w_f.shape == w_m.shape and not torch.equal(w_f, w_m)


def test_unknown_model_name_suggests_the_closest():
    with pytest.raises(UnknownModelError, match="did you mean 'film'"):
        build_model("ad", "flim")
    with pytest.raises(UnknownModelError, match="accepted: ad, brain-age"):
        build_model("adni", "film")


def test_block_strides_set_the_last_feature_map():
    # Demo crop 24x32x24 -> stem max-pool 12x16x12 -> strides 1, 2, 2, then 2 or 1.
    from hyperfusion.config import AD_DEMO

    shapes = {}
    for strides in ((1, 2, 2, 2), (1, 2, 2, 1)):
        model = build_model(
            "ad", "image-only", dataclasses.replace(AD_DEMO, block_strides=strides)
        ).eval()
        tap = model.get_submodule("trunk.cam_tap")
        handle = tap.register_forward_hook(
            lambda m, i, o, s=strides: shapes.__setitem__(s, tuple(o.shape[2:]))
        )
        with torch.no_grad():
            model(torch.zeros(1, 1, *AD_DEMO.input_shape), torch.zeros(1, 16))
        handle.remove()
    assert shapes == {(1, 2, 2, 2): (2, 2, 2), (1, 2, 2, 1): (3, 4, 3)}


def test_brain_age_generated_weights_start_at_hyperfan_in_scale():
    # At initialisation each sex's embedding is 1, so Var(W) must be 1/fan_in.
    torch.manual_seed(0)
    model = build_model("brain-age", "hyperfusion")
    with torch.no_grad():
        weights = _generated(model, torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    for name, w in weights.items():
        if w.shape[-1] * w.shape[-2] < 500:  # too few weights for a variance
            continue
        ratio = float(w[0].detach().var() * w.shape[-1])
        assert 0.8 < ratio < 1.2, (name, ratio)


AD_MODELS = [name for task, name in ALL_MODELS if task == "ad"]


@pytest.mark.parametrize("name", AD_MODELS)
def test_three_block_networks_end_one_stride_earlier(name):
    """block_strides sets the block count; every AD model follows it."""
    three = _tiny(
        "ad",
        name,
        block_strides=(1, 2, 2),
        block_dropout=(0.1, 0.2, 0.3),
        hyper_layers=("block3.shortcut",),
    )
    four = _tiny("ad", name)
    image, tabular = _batch(three, 2)
    with torch.no_grad():
        assert three(image, tabular).shape == (2, 3)
        assert torch.equal(
            three(image, tabular), three.fuse(three.encode_image(image), tabular)
        )
    if hasattr(three, "trunk"):
        assert len(three.trunk.blocks) == 3
        # One stride-2 block fewer: the last map has half the channels of four blocks.
        assert three.trunk.out_features * 2 == four.trunk.out_features
    if name == "hyperfusion":
        assert set(three.hyper_modules()) == {"block3.shortcut"}


def test_max_pooling_takes_the_largest_value_of_each_channel():
    # Strides that leave a 4x4x4 last map on the tiny crop (max and mean differ).
    model = _tiny("ad", "image-only", global_pool="max", block_strides=(1, 1, 2, 1))
    image, _ = _batch(model, 2)
    trunk = model.trunk
    with torch.no_grad():
        x = trunk.stem(image)
        for block in trunk.blocks:
            x = block(x)
        last = trunk.final(x)
        pooled = trunk(image)
    assert last.shape[2:] == (4, 4, 4)
    assert torch.equal(pooled, last.amax(dim=(2, 3, 4)))
    assert differs_f32(pooled, last.mean(dim=(2, 3, 4)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"block_dropout": (0.1, 0.2)}, "2 rates for 4 blocks"),
        (
            {"block_strides": (1, 2, 2), "block_dropout": (0.1, 0.2, 0.3)},
            "unknown hyper layer(s) block4.shortcut; accepted: block1.shortcut",
        ),
        ({"global_pool": "sum"}, "accepted: avg, max"),
    ],
)
def test_resnet_config_rejects_inconsistent_settings(changes, message):
    with pytest.raises(ValueError) as err:
        dataclasses.replace(TINY_AD, **changes)
    assert message in str(err.value)
