"""The Fusion strategies page: diagrams, every AD model on the patient, measured
metrics (or the notice that there are none yet) and missing modalities."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from hyperfusion.modelcard import measured
from hyperfusion.models.registry import MODEL_NAMES, REGISTRY
from tests.app.conftest import APP, TIMEOUT, figures, plotly_array
from tests.metrics_example import example_metrics, model_result
from tests.tolerances import rounding_atol

# The table is built from Prediction.to_dict(): three probabilities rounded to 4
# decimals each.
SUM_ATOL = rounding_atol(4, n_values=3)

FUSION = "pages/4_Fusion_strategies.py"
METRICS = example_metrics(
    {
        "ad": {
            "hyperfusion": model_result({"balanced_accuracy": (0.71, 0.02)}),
            "image-only": model_result({"balanced_accuracy": (0.58, 0.03)}),
        },
        "brain-age": {"hyperfusion": model_result({"mae": (4.6, 0.2)})},
    }
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fusion(tmp_path_factory) -> Iterator[tuple[AppTest, pytest.MonkeyPatch]]:
    path = tmp_path_factory.mktemp("weights") / "metrics.json"
    METRICS.write(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(measured, "METRICS_PATH", path)
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        yield at.switch_page(FUSION).run(), mp


def frame(at: AppTest, *columns: str, first: str = "") -> pd.DataFrame:
    """The first table with all of ``columns`` whose first cell starts with
    ``first``."""
    for df in (el.value for el in at.dataframe):
        if set(columns) <= set(df.columns) and str(df.iloc[0, 0]).startswith(first):
            return df
    raise AssertionError(f"no table with columns {columns}")


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_every_ad_model_predicts_the_current_patient(fusion):
    at, _ = fusion
    assert_clean(at)
    labels = [REGISTRY[("ad", n)].label for n in MODEL_NAMES["ad"]]
    models = frame(at, "stage", "diagnosis", "CN")
    assert list(models["label"]) == labels  # one row per shipped AD model
    probs = models[["CN", "MCI", "AD"]].to_numpy(float) / 100  # shown in percent
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=SUM_ATOL)
    assert list(models["diagnosis"]) == list(
        np.array(["CN", "MCI", "AD"])[probs.argmax(axis=1)]
    )
    bars = next(f for f in figures(at) if f["layout"].get("barmode") == "group")
    assert [t["name"] for t in bars["data"]] == ["CN", "MCI", "AD"]
    assert all(t["x"] == labels for t in bars["data"])
    # No error bar for a model with a single training seed.
    several = (models["seeds"] > 1).tolist()
    for t in bars["data"]:
        errors = (t.get("error_y") or {}).get("array")
        shown = [False] * len(labels) if errors is None else plotly_array(errors) >= 0
        assert list(shown) == several  # NaN (hidden) for one seed
    # Seven strategies with a diagram each, plus the single-modality baselines.
    assert len(at.get("image")) == 7


def test_probabilities_read_in_one_fixed_format(fusion):
    # Regression: format="percent" showed "34.77%" beside "36.1%" in one column.
    at, _ = fusion
    shown = [el for el in at.dataframe if "CN" in el.value.columns]
    assert len(shown) == 3  # every model, fields hidden, without the image
    for el in shown:
        config = json.loads(el.proto.columns)
        for cls in ("CN", "MCI", "AD"):
            kind = config[cls]["type_config"]
            assert kind["format"] == "%.1f%%" and kind["max_value"] == 100
        probs = el.value[["CN", "MCI", "AD"]].to_numpy(float)
        np.testing.assert_allclose(probs.sum(axis=1), 100, atol=100 * SUM_ATOL)


def test_measured_metrics_come_from_metrics_json(fusion):
    at, mp = fusion
    table = frame(at, "Balanced accuracy")
    shown = dict(zip(table["model"], table["Balanced accuracy"], strict=True))
    assert shown == {"HyperFusion": "0.710 ± 0.020", "Image only": "0.580 ± 0.030"}
    assert frame(at, "MAE (years)")["MAE (years)"].tolist() == ["4.60 ± 0.20"]
    mp.setattr(measured, "METRICS_PATH", measured.METRICS_PATH.parent / "none.json")
    at.run()
    assert_clean(at)
    assert any(measured.NO_METRICS in el.value for el in at.info)
    assert not any("Balanced accuracy" in el.value.columns for el in at.dataframe)


def test_missing_modalities_are_predicted_per_model_and_without_image(fusion):
    at, _ = fusion
    at.multiselect(key="fusion_hide").set_value(["PTEDUCAT"]).run()
    assert_clean(at)
    missing = frame(at, "shift", "Δ sd")
    assert len(missing) == len(MODEL_NAMES["ad"])
    assert (missing["shift"] >= 0).all() and (missing["shift"] <= 1).all()
    image_only = missing.set_index("label").loc["Image only"]
    assert image_only["shift"] == 0  # it never sees the EHR
    no_image = frame(at, "diagnosis", "CN", "sd (CN / MCI / AD)", first="EHR only,")
    assert list(no_image["label"]) == [
        "EHR only, full record",
        "EHR only, fields hidden",
    ]
