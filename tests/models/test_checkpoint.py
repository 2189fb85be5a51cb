"""Checkpoints rebuild the exact network from the files alone and refuse tampering."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from hyperfusion.data.ehr_preprocessing import EHRPreprocessor
from hyperfusion.errors import WeightsError
from hyperfusion.models.checkpoint import (
    checkpoint_stem,
    load_checkpoint,
    load_checkpoints,
    load_model,
    save_checkpoint,
)
from hyperfusion.models.registry import build_model

from .conftest import TINY_AD


@pytest.fixture
def preprocessor() -> EHRPreprocessor:
    df = pd.DataFrame(
        {
            "AGE": [70.0, 75.0, 80.0, 65.0],
            "PTGENDER": ["Female", "Male", "Male", "Female"],
            "ABETA": [900.0, None, 500.0, 1200.0],
        }
    )
    return EHRPreprocessor().fit(df)


def _save(tmp_path, preprocessor, half=True, seed=0):
    torch.manual_seed(seed)
    model = build_model("ad", "hyperfusion", TINY_AD).eval()
    stem = checkpoint_stem(tmp_path, "ad", "hyperfusion", seed)
    card = save_checkpoint(
        stem, model, task="ad", name="hyperfusion", seed=seed,
        preprocessor=preprocessor, trained_on={"description": "test"}, half=half,
    )  # fmt: skip
    return model, stem, card


def test_round_trip_rebuilds_the_same_network(tmp_path, preprocessor):
    model, stem, card = _save(tmp_path, preprocessor, half=False)
    loaded = load_checkpoint(stem.with_suffix(".json"))
    assert loaded.trained and loaded.card["config"]["init_features"] == 4
    x, t = torch.randn(2, 1, *TINY_AD.input_shape), torch.randn(2, 16)
    with torch.no_grad():
        assert torch.equal(model(x, t), loaded.model(x, t))
    record = {"AGE": 72, "PTGENDER": "Male"}
    assert (
        loaded.preprocessor.transform_one(record) == preprocessor.transform_one(record)
    ).all()


def test_half_precision_storage_equals_the_float16_rounded_model(
    tmp_path, preprocessor
):
    model, stem, _ = _save(tmp_path, preprocessor, half=True)
    rounded = {
        k: v.half().float() if v.is_floating_point() else v
        for k, v in model.state_dict().items()
    }
    model.load_state_dict(rounded)
    loaded = load_checkpoint(stem.with_suffix(".json")).model
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, rounded[key]), key


def test_tampered_weights_are_refused(tmp_path, preprocessor):
    _, stem, _ = _save(tmp_path, preprocessor)
    path = stem.with_suffix(".safetensors")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        load_checkpoint(stem.with_suffix(".json"))


def test_all_seeds_form_the_ensemble_and_a_seed_can_be_chosen(tmp_path, preprocessor):
    for seed in (2, 0, 1):
        _save(tmp_path, preprocessor, seed=seed)
    seeds = [
        c.seed for c in load_checkpoints("ad", "hyperfusion", weights_dir=tmp_path)
    ]
    assert seeds == [0, 1, 2]
    assert load_model("ad", weights_dir=tmp_path, seed=1).card["seed"] == 1
    with pytest.raises(WeightsError, match="shipped seeds: 0, 1, 2"):
        load_model("ad", weights_dir=tmp_path, seed=7)


def test_without_weights_an_untrained_placeholder_is_flagged(tmp_path):
    (checkpoint,) = load_checkpoints("brain-age", "hyperfusion", weights_dir=tmp_path)
    assert checkpoint.trained is False
    assert "UNTRAINED" in checkpoint.card["trained_on"]["description"]
    model = load_model("ad", "daft", weights_dir=tmp_path)
    assert model.card["trained"] is False and not model.training
