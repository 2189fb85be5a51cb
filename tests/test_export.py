"""Exports: JSON and CSV carry the prediction and its EHR; NIfTI keeps the input's
space."""

from __future__ import annotations

import gzip
import io
import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from hyperfusion.data.ehr_schema import FIELDS
from hyperfusion.data.templates import load_template
from hyperfusion.engine import Engine
from hyperfusion.export import (
    nifti_gz_bytes,
    prediction_csv,
    prediction_json,
    prediction_report,
)
from hyperfusion.prediction import Prediction
from tests.tolerances import U32

EHR = {"AGE": 74.0, "PTGENDER": "Female", "PTEDUCAT": 14.0, "APOE4": 1.0}


@pytest.fixture
def prediction() -> Prediction:
    return Prediction(
        probabilities={"CN": 0.2, "MCI": 0.5, "AD": 0.3},
        probabilities_sd={"CN": 0.01, "MCI": 0.02, "AD": 0.03},
        brain_age=77.5,
        brain_age_sd=1.5,
        age=74.0,
        ad_model="hyperfusion",
        brain_age_model="hyperfusion",
        n_seeds={"ad": 3, "brain-age": 3},
        trained=True,
        device="CPU",
        latency_ms=0.8,
    )


def _read_nifti(data: bytes) -> nib.Nifti1Image:
    return nib.Nifti1Image.from_bytes(gzip.decompress(data))


def test_json_round_trip_holds_probabilities_and_every_ehr_field(prediction):
    report = json.loads(prediction_json(prediction, EHR, "S01").decode("utf-8"))
    assert report["subject"] == "S01"
    assert report["prediction"]["probabilities"] == {"CN": 0.2, "MCI": 0.5, "AD": 0.3}
    assert report["prediction"]["brain_age_gap"] == 3.5
    assert report["ehr"]["AGE"] == 74.0 and report["ehr"]["ABETA"] is None
    assert list(report["ehr"]) == [f.name for f in FIELDS]
    assert "not a medical device" in report["notice"]
    assert report == prediction_report(prediction, EHR, "S01")


def test_csv_is_one_row_with_ehr_then_predictions(prediction):
    df = pd.read_csv(io.BytesIO(prediction_csv(prediction, EHR, "S01")))
    assert len(df) == 1
    row = df.iloc[0]
    assert row["subject"] == "S01" and row["AGE"] == 74.0
    assert pd.isna(row["ABETA"])  # unknown stays empty
    assert (row["P_CN"], row["P_MCI"], row["P_AD"]) == (0.2, 0.5, 0.3)
    assert row["P_AD_sd"] == 0.03 and row["diagnosis"] == "MCI"
    assert row["brain_age"] == 77.5 and row["brain_age_ensemble_size"] == 3
    cols = list(df.columns)
    assert cols.index("MMSE") < cols.index("diagnosis")


def test_nifti_bytes_keep_affine_shape_and_values_and_clear_header_text(rng):
    affine = np.array(
        [[-1.2, 0, 0, 90.0], [0, 1.0, 0.1, -126.0], [0, 0, 1.5, -72.0], [0, 0, 0, 1]]
    )
    data = rng.uniform(size=(7, 9, 5)).astype(np.float32)
    img = nib.Nifti1Image(data, affine)
    img.header["descrip"] = b"patient: Jane Doe"
    back = _read_nifti(nifti_gz_bytes(img, "HyperFusion Grad-CAM AD"))
    # The sform holds float32: each entry is rounded once (relative U32).
    np.testing.assert_allclose(back.affine, affine, rtol=U32, atol=0)
    assert back.shape == (7, 9, 5)
    np.testing.assert_array_equal(back.get_fdata(dtype=np.float32), data)
    assert back.header["descrip"].tobytes().rstrip(b"\0") == b"HyperFusion Grad-CAM AD"


@pytest.mark.slow
def test_gradcam_export_lands_in_the_input_images_space(tmp_path):
    engine = Engine(device="cpu", weights_dir=tmp_path)
    source = load_template(resolution=2)
    image = engine.prepare(source)
    cam = np.zeros(image.grid("ad").shape, dtype=np.float32)
    cam[30, 16, 12], cam[31, 16, 12] = 1.0, 0.5  # right hemisphere, in the crop
    back = _read_nifti(nifti_gz_bytes(engine.gradcam_in_input_space(image, cam)))
    assert back.shape == source.shape[:3]
    np.testing.assert_allclose(back.affine, source.affine, rtol=U32, atol=0)
    peak = np.unravel_index(np.argmax(back.get_fdata()), back.shape)
    world = back.affine @ [*peak, 1]
    expected = image.grid("ad").affine @ [30, 16, 12, 1]
    np.testing.assert_allclose(world[:3], expected[:3], atol=2.0)
