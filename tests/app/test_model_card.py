"""The Model card page: every section renders with or without trained metrics, the
not-a-medical-device statement is prominent, and recorded metrics are drawn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from hyperfusion.evaluate.schema import Check, Cohort
from hyperfusion.modelcard import card, measured
from hyperfusion.models.checkpoint import WEIGHTS_DIR, find_cards
from hyperfusion.models.registry import MODEL_NAMES
from tests.app.conftest import APP, TIMEOUT, figures
from tests.html_tree import parse
from tests.metrics_example import example_metrics, model_result

MODEL_CARD = "pages/5_Model_card.py"
SECTIONS = [
    "Data",
    "Training",
    "Metrics",
    "Intended use and limits",
    "Preprocessing contract for uploads",
]
CM = [[40, 8, 2], [6, 50, 9], [1, 4, 15]]
METRICS = example_metrics(  # the layout python -m hyperfusion.evaluate writes
    {
        "ad": {
            "hyperfusion": model_result(
                {"balanced_accuracy": (0.71, 0.01), "ece": (0.05, 0.002)},
                n_seeds=1,
                confusion=CM,
                reliability=[(0.5, 0.4, 10), (0.9, 0.85, 30)],
            )
        }
    },
    cohorts={"ad": Cohort(description="synthetic test cohort", n_test=20)},
    acceptance=[Check("AD: +5 points", 6.0, "points", True)],
)

pytestmark = pytest.mark.slow


def run_card(path) -> AppTest:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(measured, "METRICS_PATH", path)
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        return at.switch_page(MODEL_CARD).run()


def assert_complete(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Model card"
    assert [h.value for h in at.header] == SECTIONS
    statement = [m.value for m in at.markdown if "Not a medical device" in m.value]
    assert statement and "must never be used" in statement[0]
    text = " ".join(m.value for m in at.markdown)
    assert "skull-stripped" in text.lower() and "z-scored" in text  # the contract


def expected_untrained_notice() -> str | None:
    """The banner the installed weights call for (every model on the card)."""
    models = [(t, n) for t in ("ad", "brain-age") for n in MODEL_NAMES[t]]
    untrained = [
        (t, n)
        for t, n in models
        if not all(
            json.loads(p.read_text()).get("trained")
            for p in find_cards(WEIGHTS_DIR, t, n)
        )
        or not find_cards(WEIGHTS_DIR, t, n)
    ]
    return card.untrained_notice(untrained, len(models))


def test_without_trained_metrics_every_section_says_so(tmp_path):
    at = run_card(tmp_path / "metrics.json")
    assert_complete(at)
    assert any(measured.NO_METRICS in el.value for el in at.caption)
    # One untrained-weights banner, the shared one at the top, right for fully,
    # partly or not trained weights (regression: three near-identical banners).
    notice = expected_untrained_notice()
    warnings = [el.value for el in at.warning]
    assert warnings == ([notice] if notice else [])
    assert not any("No trained weights yet" in el.value for el in at.info)
    for table in at.table:  # cohort rows in words, never "ad: description"
        assert not any(":" in str(item) for item in table.value.index)
        assert "UNTRAINED" not in table.value.to_string()
    assert any("no confusion matrix recorded yet" in el.value for el in at.info)
    training = next(el.value for el in at.dataframe if "input grid" in el.value)
    assert len(training) == 12  # nine AD models and three brain-age models
    # Class proportions are always drawn: the cohort's counts when the cards name a
    # cohort on disk, else the generator's design target.
    (bars,) = [
        found
        for el in at.get("html")
        for found in parse(el.proto.body).by_class("hf-class-proportions")
    ]
    assert json.loads(bars.attrs["data-labels"]) == ["CN", "MCI", "AD"]
    shares = np.array(json.loads(bars.attrs["data-values"]), dtype=float)
    shares = shares / shares.sum()
    assert shares[1] > shares[0] > shares[2] > 0.05  # MCI > CN > AD, as generated
    assert "diagnosis" in bars.text(" ")
    assert not figures(at)  # no reliability curves recorded: no plotly chart


def test_recorded_metrics_give_confusion_matrices_and_reliability(tmp_path):
    path = tmp_path / "metrics.json"
    METRICS.write(path)
    at = run_card(path)
    assert_complete(at)
    tables = [
        found
        for el in at.get("html")
        for found in parse(el.proto.body).by_class("hf-confusion")
    ]
    assert len(tables) == 1  # HyperFusion has one; image-only has none recorded
    assert not any(f["data"][0]["type"] == "heatmap" for f in figures(at))
    (table,) = tables
    assert "HyperFusion" in table.text(" ")
    headers = [th.text() for th in table.by_tag("th")]
    assert "predicted" in headers and "true" in headers
    shown = [
        [cell.text("|").split("|") for cell in row.by_class("hf-cell")]
        for row in table.by_tag("tr")
        if row.by_class("hf-cell")
    ]
    np.testing.assert_array_equal([[int(c) for c, _ in row] for row in shown], CM)
    for row, counts in zip(shown, CM, strict=True):  # share of the true class
        assert [s for _, s in row] == [
            f"({round(100 * c / sum(counts))}%)" for c in counts
        ]
    curves = [
        f
        for f in figures(at)
        if f["layout"]["yaxis"]["title"]["text"] == "observed accuracy"
    ]
    assert [t["name"] for t in curves[0]["data"]] == [
        "perfect calibration",
        "HyperFusion",
    ]
    ad = next(el.value for el in at.dataframe if "Balanced accuracy" in el.value)
    assert ad.set_index("model").loc["HyperFusion", "ECE"] == "0.050 ± 0.002"
    checks = next(el.value for el in at.dataframe if "target" in el.value)
    assert checks["passed"].tolist() == [True]
    cohort = next(el.value for el in at.table)
    assert cohort.loc["Cohort", "CN / MCI / AD diagnosis"] == "synthetic test cohort"
    assert any(el.value.startswith("SYNTHETIC data") for el in at.caption)
