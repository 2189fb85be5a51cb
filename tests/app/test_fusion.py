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
from tests.app.conftest import APP, TIMEOUT, figures
from tests.html_tree import Node, parse, percent
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


def html_chart(at: AppTest, cls: str) -> Node:
    """The one ``st.html`` chart of the run with class ``cls``."""
    found = [parse(el.proto.body).by_class(cls) for el in at.get("html")]
    (chart,) = [chart for charts in found for chart in charts]
    return chart


def tracks(chart: Node) -> list[tuple[Node, Node | None]]:
    """Each bar of a chart with its whisker (None without one): they share a
    track, the element holding them."""
    found = []
    for track in chart.elements():
        kids = [c for c in track.children if isinstance(c, Node)]
        bars = [c for c in kids if "hf-bar" in c.attrs.get("class", "").split()]
        whiskers = [c for c in kids if "hf-whisker" in c.attrs.get("class", "")]
        found += [(bar, whiskers[0] if whiskers else None) for bar in bars]
    return found


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
    bars = html_chart(at, "hf-model-probabilities")
    assert json.loads(bars.attrs["data-series"]) == ["CN", "MCI", "AD"]
    assert json.loads(bars.attrs["data-labels"]) == labels
    # The bars are the table's probabilities (shown there in percent, 1 decimal).
    drawn = np.array(json.loads(bars.attrs["data-values"])).T
    np.testing.assert_allclose(100 * drawn, models[["CN", "MCI", "AD"]], atol=0.05)
    # A whisker of ±1 SD (data-sd) for a model with several seeds, none for one.
    several = dict(zip(labels, models["seeds"] > 1, strict=True))
    sds = json.loads(bars.attrs.get("data-sd", "null")) or [[None] * len(labels)] * 3
    for bar, whisker in tracks(bars):
        model, cls = bar.attrs["data-label"], bar.attrs["data-series"]
        sd = sds[["CN", "MCI", "AD"].index(cls)][labels.index(model)]
        p = float(bar.attrs["data-value"])
        assert (sd is not None) == several[model], model
        if not several[model]:
            assert whisker is None, model
        elif sd > 0:
            left = percent(whisker.style()["left"])
            right = left + percent(whisker.style()["width"])
            assert (left, right) == pytest.approx(
                (max(p - sd, 0), min(p + sd, 1)), abs=1e-4
            )
    assert not figures(at)  # no plotly chart on the page
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
    bars = html_chart(at, "hf-metric-bars")
    assert json.loads(bars.attrs["data-labels"]) == ["HyperFusion", "Image only"]
    assert json.loads(bars.attrs["data-values"]) == pytest.approx([0.71, 0.58])
    assert json.loads(bars.attrs["data-sd"]) == pytest.approx([0.02, 0.03])
    assert float(bars.attrs["data-reference"]) == pytest.approx(1 / 3)  # chance
    mp.setattr(measured, "METRICS_PATH", measured.METRICS_PATH.parent / "none.json")
    at.run()
    assert_clean(at)
    assert any(measured.NO_METRICS in el.value for el in at.info)
    assert not any("Balanced accuracy" in el.value.columns for el in at.dataframe)
    assert not any("hf-metric-bars" in el.proto.body for el in at.get("html"))


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
