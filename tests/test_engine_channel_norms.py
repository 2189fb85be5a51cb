"""Engine.channel_norms_sweep: one batched generation equals per-record views."""

from __future__ import annotations

import numpy as np
import pytest

from hyperfusion.engine import Engine
from tests.tolerances import reduction_atol

RECORD = {"AGE": 74, "PTGENDER": "Female", "PTEDUCAT": 14, "APOE4": 1, "ABETA": 700}


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    # An empty weights folder: every model is the untrained placeholder.
    return Engine(device="cpu", weights_dir=tmp_path_factory.mktemp("weights"))


def _norm_rtol(engine, task: str, name: str, fan_in: int) -> float:
    """Relative tolerance of a channel norm computed by two float32 paths.

    Each weight sums ``embed_dim`` products and a bias (batched vs single
    generation), and the norm sums ``fan_in`` squares (torch vs numpy): positive
    terms, so relative to the result when the generator's sums do not cancel much
    (measured: 1.5e-7 apart, against about 9e-6 here).
    """
    model = engine.checkpoints(task, "hyperfusion")[0].model
    embed_dim = model.hyper_modules()[name].embed_dim
    return float(reduction_atol(fan_in + embed_dim + 2, 1.0))


def test_sweep_rows_equal_the_norms_of_each_records_generated_weights(engine):
    values = [0, 1, 2]
    norms = engine.channel_norms_sweep(RECORD, "APOE4", values)
    view = engine.hyper_weights(RECORD)[0]
    assert norms.shape == (3, view.weight.shape[0])
    rtol = _norm_rtol(engine, "ad", view.name, view.weight.shape[1])
    for row, value in zip(norms, values, strict=True):
        expected = engine.hyper_weights({**RECORD, "APOE4": value})[0].channel_norms
        np.testing.assert_allclose(row, expected, rtol=rtol)
    # The current record's value reproduces its own view.
    np.testing.assert_allclose(norms[1], view.channel_norms, rtol=rtol)


def test_sweep_picks_a_named_brain_age_layer(engine):
    norms = engine.channel_norms_sweep(
        RECORD, "PTGENDER", ["Female", "Male"], task="brain-age", layer="fc2"
    )
    views = {v.name: v for v in engine.hyper_weights(RECORD, task="brain-age")}
    assert norms.shape == (2, views["fc2"].weight.shape[0])
    rtol = _norm_rtol(engine, "brain-age", "fc2", views["fc2"].weight.shape[1])
    np.testing.assert_allclose(norms[0], views["fc2"].channel_norms, rtol=rtol)
