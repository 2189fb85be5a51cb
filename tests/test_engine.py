"""The engine: batched and cached paths equal the plain ones; explanations keep
their contracts; concurrent sessions do not disturb each other."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from hyperfusion.config import AD_CLASSES
from hyperfusion.data.ehr_parsing import validate_ehr
from hyperfusion.data.ehr_schema import FIELD_BY_NAME
from hyperfusion.data.templates import load_template
from hyperfusion.engine import Engine
from hyperfusion.errors import HyperFusionError, InvalidEHRError
from hyperfusion.tasks import get_task
from tests.tolerances import PROB_SUM_ATOL, assert_far, assert_within, network_atol

RECORD = {"AGE": 74, "PTGENDER": "Female", "PTEDUCAT": 14, "APOE4": 1, "ABETA": 700}


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    # An empty weights folder: every model is the untrained placeholder.
    return Engine(device="cpu", weights_dir=tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="module")
def image(engine):
    return engine.prepare(load_template(resolution=2))


def _forward(engine, image, record, task="ad", name="hyperfusion", raw=False):
    """The plain path: each checkpoint's full forward on the image, no cache
    (``raw``: each seed's outputs, AD logits before the softmax)."""
    outs = []
    rec = validate_ehr(record, require=False)
    for ckpt in engine.checkpoints(task, name):
        x = torch.from_numpy(np.ascontiguousarray(image.views[task][:, None]))
        tab = get_task(task).tabular(ckpt.preprocessor, [rec])
        tab = torch.from_numpy(tab).float().expand(x.shape[0], -1)
        with torch.no_grad():
            out = ckpt.model(x, tab).mean(dim=0)
        outs.append(
            out.numpy() if task != "ad" or raw else torch.softmax(out, 0).numpy()
        )
    return np.stack(outs) if raw else np.mean(outs, axis=0)


def _prob_atol(engine, image, record) -> float:
    """Probabilities of two float32 paths: softmax is 1/2-Lipschitz in the logits."""
    return network_atol(_forward(engine, image, record, raw=True)) / 2


def test_prediction_equals_the_plain_forward_and_is_a_distribution(engine, image):
    pred = engine.predict(image, RECORD)
    probs = np.array([pred.probabilities[c] for c in AD_CLASSES])
    assert probs.sum() == pytest.approx(1.0, abs=PROB_SUM_ATOL)
    # Cached encode + fuse against the whole forward: other kernels, other orders.
    plain = _forward(engine, image, RECORD)
    assert_within(probs, plain, _prob_atol(engine, image, RECORD), what="AD")
    age = _forward(engine, image, RECORD, task="brain-age")[0]
    assert_within(pred.brain_age, age, network_atol(age), what="brain age")
    assert pred.brain_age_gap == pytest.approx(pred.brain_age - 74)
    assert pred.trained is False and pred.device == "CPU"


def test_an_edit_reuses_the_cached_image_features(engine, image, monkeypatch):
    engine.predict(image, RECORD)
    calls = []
    for ckpt in engine.checkpoints("ad") + engine.checkpoints("brain-age"):
        original = ckpt.model.encode_image
        monkeypatch.setattr(
            ckpt.model, "encode_image", lambda x, f=original: calls.append(1) or f(x)
        )
    engine.predict(image, {**RECORD, "ABETA": 1500})
    assert calls == []


def test_sweep_rows_equal_single_predictions(engine, image):
    values = [55, 65, 75, 85]
    df = engine.sweep(image, RECORD, "AGE", values)
    assert list(df["value"]) == values
    # One batch of 4 records against 4 single passes: float32 in other orders.
    p_tol = _prob_atol(engine, image, RECORD)
    age_tol = network_atol(df["brain_age"])
    for value, (_, row) in zip(values, df.iterrows(), strict=True):
        single = engine.predict(image, {**RECORD, "AGE": value})
        probs = [single.probabilities[cls] for cls in AD_CLASSES]
        assert_within(row[list(AD_CLASSES)].to_numpy(float), probs, p_tol, what="AD")
        assert_within(row["brain_age"], single.brain_age, age_tol, what="brain age")
    # Rows paired with the wrong values would miss by far more than p_tol.
    cn = df["CN"].to_numpy()
    assert_far(cn[1:], cn[:-1], p_tol, what="neighbouring sweep rows")


def test_sweeping_sex_changes_only_through_the_sex_inputs(engine, image):
    df = engine.sweep(image, RECORD, "PTGENDER", ["Female", "Male"])
    assert len(df) == 2 and set(df["value"]) == {"Female", "Male"}


def test_attributions_sum_to_the_change_from_the_reference(engine, image):
    reference = engine.reference_record("ad")
    df = engine.ehr_attribution(image, RECORD, "AD", reference=reference, steps=64)
    p = engine.predict(image, RECORD).probabilities["AD"]
    p_ref = engine.predict(image, reference).probabilities["AD"]
    assert df["attribution"].sum() == pytest.approx(p - p_ref, abs=2e-3)
    assert set(df["field"]) <= {f for f in RECORD} | {
        "TAU", "PTAU", "FDG", "AV45", "APOE4", "PTEDUCAT",
    }  # fmt: skip
    assert "MMSE" not in set(df["field"])


def test_gradcam_is_a_unit_scaled_map_on_the_task_grid(engine, image):
    cam = engine.gradcam(image, RECORD, "AD")
    assert cam.shape == image.grid("ad").shape
    assert cam.min() >= 0 and cam.max() <= 1.0 + 1e-6
    age_cam = engine.gradcam(image, RECORD, "brain-age")
    assert age_cam.shape == image.grid("brain-age").shape
    exported = engine.gradcam_in_input_space(image, cam)
    assert exported.shape == image.source.shape
    np.testing.assert_allclose(exported.affine, image.source.affine)
    with pytest.raises(HyperFusionError, match="accepted: CN, MCI, AD"):
        engine.gradcam(image, RECORD, "dementia")
    hires = engine.gradcam(image, RECORD, "AD", method="hirescam")
    assert hires.shape == cam.shape and hires.min() >= 0
    with pytest.raises(HyperFusionError, match="accepted: .*gradcam"):
        engine.gradcam(image, RECORD, "AD", method="saliency")


@pytest.mark.slow
def test_smallest_flip_is_a_real_flip_and_the_nearest_on_the_grid(engine, image):
    for field in ("AGE", "ABETA"):
        flip = engine.smallest_flip(image, RECORD, field, steps=41)
        current = engine.predict(image, RECORD).diagnosis
        spec = FIELD_BY_NAME[field]
        grid = np.linspace(spec.low, spec.high, 41)
        labels = [engine.predict(image, {**RECORD, field: v}).diagnosis for v in grid]
        flipping = [v for v, lab in zip(grid, labels, strict=True) if lab != current]
        if flip is None:
            assert flipping == []
        else:
            assert flip["from"] == current and flip["to"] != current
            nearest = min(flipping, key=lambda v: abs(v - RECORD[field]))
            assert flip["value"] == pytest.approx(nearest)


def test_tabular_only_predicts_without_an_image(engine):
    pred = engine.predict(None, RECORD, ad_model="tabular-only")
    assert sum(pred.probabilities.values()) == pytest.approx(1.0)
    assert np.isnan(pred.brain_age)
    with pytest.raises(HyperFusionError, match="needs an MRI"):
        engine.predict(None, RECORD)


def test_bad_ehr_is_refused_with_a_clear_message(engine, image):
    with pytest.raises(InvalidEHRError, match="AGE"):
        engine.predict(image, {**RECORD, "AGE": 250})


def test_concurrent_sessions_get_the_same_answers_as_serial_calls(engine, image):
    records = [{**RECORD, "AGE": 60 + 5 * i} for i in range(4)]
    serial = [engine.predict(image, r).probabilities for r in records]
    cams = [engine.gradcam(image, r, "MCI") for r in records]
    results, errors = {}, []

    def work(i):
        try:
            for _ in range(3):
                cam = engine.gradcam(image, records[i], "MCI")
                results[i] = (engine.predict(image, records[i]).probabilities, cam)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # The same computations as the serial calls (float32 noise at most); another
    # session's record would move them by far more (asserted on the serial maps).
    p_tol = _prob_atol(engine, image, RECORD)
    cam_tol = network_atol(cams[0])  # maps are scaled to a peak of 1
    for i in range(4):
        assert_within(list(results[i][0].values()), list(serial[i].values()), p_tol)
        assert_within(results[i][1], cams[i], cam_tol, what=f"session {i}")
    assert_far(cams[1], cams[0], cam_tol, what="maps of two records")
