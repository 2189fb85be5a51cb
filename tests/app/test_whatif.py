"""The What-if page: a batched sweep, scenarios A / B, and the smallest flips."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from hyperfusion.data.ehr_schema import FIELD_BY_NAME, INPUT_FIELDS
from hyperfusion.data.examples import example_image_bytes
from hyperfusion.engine import Engine
from hyperfusion.viz import whatif
from tests.app.conftest import APP, TIMEOUT, plotly_array
from tests.app.scrub_checks import assert_frames_match_the_engine, scrub_chart
from tests.html_tree import parse
from tests.tolerances import PROB_SUM_ATOL, U32

WHAT_IF = "pages/3_What_if.py"
DELTA = "Δ (B − A)"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return at.switch_page(WHAT_IF).run()


def frame(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table on the page that has all of ``columns``."""
    for df in (el.value for el in at.dataframe):
        if set(columns) <= set(df.columns):
            return df
    raise AssertionError(f"no table with columns {columns}")


def sweep_chart(at: AppTest) -> dict:
    charts = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    return next(c for c in charts if "yaxis2" in c["layout"] or len(c["data"]) > 5)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_the_sweep_covers_the_field_and_follows_the_chosen_field(page):
    assert_clean(page)
    page.selectbox(key="whatif_field").set_value("AGE").run()  # tests run shuffled
    assert page.title[0].value == "What if"
    ages = frame(page, "value", "CN", "brain_age")
    assert len(ages) == 64
    assert (ages["value"].min(), ages["value"].max()) == (18, 100)
    assert ages[["CN", "MCI", "AD"]].std().max() > 0  # the prediction moves
    probs = ages[["CN", "MCI", "AD"]]
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=PROB_SUM_ATOL)
    chart = sweep_chart(page)
    cn = next(t for t in chart["data"] if t.get("name") == "CN")
    # plotly ships the values as float64 or float32: one rounding at most.
    np.testing.assert_allclose(plotly_array(cn["y"]), ages["CN"], rtol=U32, atol=0)
    assert chart["layout"]["xaxis2"]["title"]["text"] == "Age (years)"

    page.selectbox(key="whatif_field").set_value("ABETA").run()
    assert_clean(page)
    abeta = frame(page, "value", "CN", "brain_age")
    assert (abeta["value"].min(), abeta["value"].max()) == (200, 1700)
    assert not np.allclose(abeta["CN"], ages["CN"])
    chart = sweep_chart(page)
    assert chart["layout"]["xaxis2"]["title"]["text"] == "CSF amyloid-β 1-42 (pg/mL)"


def test_editing_scenario_b_changes_the_differences(page):
    before = frame(page, DELTA)[DELTA].to_numpy(float)
    # B starts as the current record with one numeric field changed (a plain dict).
    (name, value), *_ = page.session_state["scenario_b"].items()
    field = FIELD_BY_NAME[name]
    new = field.low if value != field.low else field.high
    page.number_input(key=f"scenario_{name}").set_value(new).run()
    assert_clean(page)
    assert page.session_state["scenario_b"][name] == new
    after = frame(page, DELTA)[DELTA].to_numpy(float)
    assert not np.allclose(before, after)
    inputs = frame(page, "field", "A", "B").set_index("field")
    assert inputs.loc[whatif.axis_title(field), "B"] == whatif.format_value(field, new)
    # The scenarios' bars draw the outcome table's probabilities, A above B.
    outcome = frame(page, DELTA)
    (bars,) = [
        found
        for el in page.get("html")
        for found in parse(el.proto.body).by_class("hf-scenarios")
    ]
    assert json.loads(bars.attrs["data-labels"]) == ["Scenario A", "Scenario B"]
    drawn = np.array(json.loads(bars.attrs["data-values"]))  # class × scenario
    rows = [f"P({c})" for c in ("CN", "MCI", "AD")]
    np.testing.assert_allclose(drawn, outcome.loc[rows, ["A", "B"]], rtol=1e-6)


def test_the_flip_table_agrees_with_the_engine(page):
    table = frame(page, "flip value", "diagnosis").set_index("field")
    labels = [whatif.axis_title(f) for f in INPUT_FIELDS]
    assert sorted(table.index) == sorted(labels)
    engine = Engine()
    image = engine.prepare(example_image_bytes(page.session_state["subject"]))
    record = dict(page.session_state["ehr"])
    for field in INPUT_FIELDS:
        flip = engine.smallest_flip(image, record, field.name)
        row = table.loc[whatif.axis_title(FIELD_BY_NAME[field.name])]
        if flip is None:
            assert row["diagnosis"] == whatif.NO_FLIP, field.name
        else:
            assert row["diagnosis"] == f"{flip['from']} → {flip['to']}"
            assert row["flip value"] == whatif.format_value(field, flip["value"])


def test_the_scrubber_plays_the_engines_sweep_in_frames(page):
    page.selectbox(key="whatif_field").set_value("TAU").run()
    assert_clean(page)
    record, subject = dict(page.session_state["ehr"]), page.session_state["subject"]
    chart = scrub_chart(page)
    assert_frames_match_the_engine(chart, subject, record, "TAU")
    prefix = chart["layout"]["sliders"][0]["currentvalue"]["prefix"]
    assert prefix == f"{FIELD_BY_NAME['TAU'].label}: "
