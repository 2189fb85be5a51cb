"""The Model card page: every section renders with or without trained metrics, the
not-a-medical-device statement is prominent, and recorded metrics are drawn."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from hyperfusion.modelcard import measured
from tests.app.conftest import APP, TIMEOUT, figures

MODEL_CARD = "pages/5_Model_card.py"
SECTIONS = [
    "Data",
    "Training",
    "Metrics",
    "Intended use and limits",
    "Preprocessing contract for uploads",
]
CM = [[40, 8, 2], [6, 50, 9], [1, 4, 15]]
METRICS = {  # the layout python -m hyperfusion.evaluate writes
    "label": "SYNTHETIC data: metrics on the held-out synthetic test split.",
    "cohorts": {"ad": {"description": "synthetic test cohort", "n_test": 20}},
    "models": {
        "ad": {
            "hyperfusion": {
                "aggregate": {
                    "balanced_accuracy": {"mean": 0.71, "sd": 0.01},
                    "ece": {"mean": 0.05, "sd": 0.002},
                },
                "seeds": {"0": {"test": {"confusion_matrix": CM}}},
                "reliability": [
                    {"confidence": 0.5, "accuracy": 0.4, "count": 10},
                    {"confidence": 0.9, "accuracy": 0.85, "count": 30},
                ],
            }
        }
    },
    "acceptance": [
        {"target": "AD: +5 points", "value": 6.0, "unit": "points", "passed": True}
    ],
}

pytestmark = pytest.mark.slow


def run_card(path) -> AppTest:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(measured, "METRICS_PATH", path)
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        return at.switch_page(MODEL_CARD).run()


def plotly_array(value: object) -> np.ndarray:
    """A plotly JSON array: a list, or base64 ``{"dtype", "bdata", "shape"}``."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(n) for n in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape)
    return np.asarray(value, dtype=float)


def assert_complete(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Model card"
    assert [h.value for h in at.header] == SECTIONS
    statement = [m.value for m in at.markdown if "Not a medical device" in m.value]
    assert statement and "must never be used" in statement[0]
    text = " ".join(m.value for m in at.markdown)
    assert "skull-stripped" in text.lower() and "z-scored" in text  # the contract


def test_without_trained_metrics_every_section_says_so(tmp_path):
    at = run_card(tmp_path / "metrics.json")
    assert_complete(at)
    assert any(measured.NO_METRICS in el.value for el in at.info)
    assert any("No trained weights yet" in el.value for el in at.warning)
    assert any("no confusion matrix recorded yet" in el.value for el in at.info)
    training = next(el.value for el in at.dataframe if "input grid" in el.value)
    assert len(training) == 12  # nine AD models and three brain-age models
    # Class proportions are always drawn: the cohort's counts when the cards name a
    # cohort on disk, else the generator's design target.
    bars = next(
        f for f in figures(at) if f["layout"]["xaxis"]["title"]["text"] == "diagnosis"
    )
    assert bars["data"][0]["x"] == ["CN", "MCI", "AD"]
    shares = plotly_array(bars["data"][0]["y"])
    shares = shares / shares.sum()
    assert shares[1] > shares[0] > shares[2] > 0.05  # MCI > CN > AD, as generated


def test_recorded_metrics_give_confusion_matrices_and_reliability(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(METRICS))
    at = run_card(path)
    assert_complete(at)
    heat = [f for f in figures(at) if f["data"][0]["type"] == "heatmap"]
    assert len(heat) == 1  # HyperFusion has one; image-only has none recorded
    layout = heat[0]["layout"]
    assert layout["xaxis"]["title"]["text"] == "predicted"
    assert layout["yaxis"]["title"]["text"] == "true"
    np.testing.assert_array_equal(plotly_array(heat[0]["data"][0]["customdata"]), CM)
    curves = [
        f
        for f in figures(at)
        if f["layout"]["yaxis"]["title"]["text"] == "observed accuracy"
    ]
    assert [t["name"] for t in curves[0]["data"]] == [
        "perfect calibration",
        "HyperFusion",
    ]
    ad = next(el.value for el in at.dataframe if "balanced accuracy" in el.value)
    assert ad.set_index("model").loc["HyperFusion", "ECE"] == "0.050 ± 0.002"
    checks = next(el.value for el in at.dataframe if "target" in el.value)
    assert checks["passed"].tolist() == [True]
    cohort = next(el.value for el in at.table).to_string()
    assert "synthetic test cohort" in cohort and "SYNTHETIC data" in cohort
