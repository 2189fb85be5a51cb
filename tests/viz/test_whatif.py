"""What-if figures and tables: sweeps, scenarios A / B and the smallest flips."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hyperfusion.config import AD_CLASSES
from hyperfusion.data.ehr_schema import FIELD_BY_NAME, INPUT_FIELDS
from hyperfusion.viz import BRAIN_AGE_COLOR, CLASS_COLORS, whatif
from tests.html_tree import parse, percent

AGE, SEX, APOE4 = (
    FIELD_BY_NAME["AGE"],
    FIELD_BY_NAME["PTGENDER"],
    FIELD_BY_NAME["APOE4"],
)


def sweep_frame(values: list, rng: np.random.Generator, age: bool = True):
    """An ``Engine.sweep``-shaped frame with random probabilities and spreads."""
    probs = rng.dirichlet(np.ones(3), size=len(values))
    df = pd.DataFrame({"value": values})
    for i, cls in enumerate(AD_CLASSES):
        df[cls] = probs[:, i]
        df[f"{cls}_sd"] = rng.uniform(0.0, 0.1, len(values))
    if age:
        df["brain_age"] = rng.uniform(60, 80, len(values))
        df["brain_age_sd"] = rng.uniform(0.5, 2.0, len(values))
    return df


def trace(fig, name: str):
    return next(t for t in fig.data if t.name == name)


# Values and labels -------------------------------------------------------------------


def test_sweep_values_cover_each_kind_of_field():
    assert whatif.sweep_values(SEX) == ["Female", "Male"]
    assert whatif.sweep_values(APOE4) == [0, 1, 2]
    ages = whatif.sweep_values(AGE)
    assert len(ages) == 64 and ages[0] == AGE.low and ages[-1] == AGE.high
    assert np.all(np.diff(ages) > 0)
    educ = whatif.sweep_values(FIELD_BY_NAME["PTEDUCAT"], n=8)
    assert len(educ) == 8 and educ[0] == 0 and educ[-1] == 30


def test_sweepable_fields_are_the_numeric_inputs_and_sex():
    names = [f.name for f in whatif.sweepable_fields()]
    assert names == [f.name for f in INPUT_FIELDS]
    assert "MMSE" not in names  # context only, never a model input


def test_labels_carry_units_once():
    assert whatif.axis_title(AGE) == "Age (years)"
    assert whatif.axis_title(APOE4) == "APOE4 alleles"
    assert whatif.format_value(FIELD_BY_NAME["ABETA"], 812.0) == "812 pg/mL"
    assert whatif.format_value(SEX, "Male") == "Male"
    assert whatif.format_value(AGE, None) == "unknown"


# Sweep figure ------------------------------------------------------------------------


def test_numeric_sweep_draws_each_class_with_its_sd_band(rng):
    values = whatif.sweep_values(AGE, n=16)
    df = sweep_frame(values, rng)
    fig = whatif.sweep_figure(df, AGE, 70.0)
    for cls in AD_CLASSES:
        line = trace(fig, cls)
        np.testing.assert_allclose(line.y, df[cls])
        np.testing.assert_allclose(line.x, values)
        assert line.line.color == CLASS_COLORS[cls]
        band = next(t for t in fig.data if t.fill == "toself" and t.legendgroup == cls)
        upper = np.clip(df[cls] + df[f"{cls}_sd"], 0, 1)
        lower = np.clip(df[cls] - df[f"{cls}_sd"], 0, 1)
        np.testing.assert_allclose(band.y, [*upper, *lower[::-1]])
        assert band.showlegend is False
    age = trace(fig, "brain age")
    np.testing.assert_allclose(age.y, df["brain_age"])
    assert age.line.color == BRAIN_AGE_COLOR
    assert age.yaxis == "y2"


def test_sweep_marks_the_current_value_on_both_panels(rng):
    df = sweep_frame(whatif.sweep_values(AGE, n=8), rng)
    fig = whatif.sweep_figure(df, AGE, 71.5)
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 2
    assert all(s.x0 == s.x1 == 71.5 for s in lines)
    assert {s.yref for s in lines} == {"y domain", "y2 domain"}
    assert any("current: 72 years" in a.text for a in fig.layout.annotations)


def test_sweep_axes_are_labelled_with_units(rng):
    df = sweep_frame(whatif.sweep_values(AGE, n=8), rng)
    fig = whatif.sweep_figure(df, AGE, 70)
    assert fig.layout.yaxis.title.text == "probability"
    assert tuple(fig.layout.yaxis.range) == (0, 1)
    assert fig.layout.yaxis2.title.text == "brain age (years)"
    assert fig.layout.xaxis2.title.text == "Age (years)"


def test_the_brain_age_panel_is_padded_and_as_tall_as_the_probabilities(rng):
    # Regression: an untrained brain age of ~11.7 y sat on the panel's bottom edge,
    # and the panel was ~150 px tall beside ~230 px of probabilities.
    values = whatif.sweep_values(AGE, n=8)
    df = sweep_frame(values, rng)
    df["brain_age"], df["brain_age_sd"] = 11.7, 0.0
    fig = whatif.sweep_figure(df, AGE, 70)
    low, high = fig.layout.yaxis2.range
    margin = 0.1 * (max(values) - 11.7)  # the entered age reaches 100
    assert (low, high) == pytest.approx((11.7 - margin, max(values) + margin))
    assert margin > 5
    top, bottom = fig.layout.yaxis.domain, fig.layout.yaxis2.domain
    assert top[1] - top[0] == pytest.approx(bottom[1] - bottom[0])
    abeta = FIELD_BY_NAME["ABETA"]
    band = sweep_frame([200.0, 900.0], rng)
    low, high = whatif.sweep_figure(band, abeta, None).layout.yaxis2.range
    lows, highs = (
        band["brain_age"] - band["brain_age_sd"],
        band["brain_age"] + (band["brain_age_sd"]),
    )
    assert low == pytest.approx(lows.min() - 5) and high == pytest.approx(
        highs.max() + 5
    )
    bars = whatif.sweep_figure(sweep_frame(["Female", "Male"], rng), SEX, "Male")
    assert bars.layout.yaxis2.range[0] == 0  # bars keep their zero
    assert whatif.padded_range(np.array([np.nan])) is None


def test_sweeping_age_shows_the_entered_age_as_reference(rng):
    values = whatif.sweep_values(AGE, n=8)
    fig = whatif.sweep_figure(sweep_frame(values, rng), AGE, 70)
    np.testing.assert_allclose(trace(fig, "entered age").y, values)
    abeta = FIELD_BY_NAME["ABETA"]
    other = whatif.sweep_figure(sweep_frame([200.0, 900.0], rng), abeta, None)
    assert "entered age" not in {t.name for t in other.data}
    assert not other.layout.shapes  # unknown current value: no marker


def test_sex_sweep_is_bars_with_sd_error_bars_and_shaded_current(rng):
    df = sweep_frame(["Female", "Male"], rng)
    fig = whatif.sweep_figure(df, SEX, "Male")
    for cls in AD_CLASSES:
        bar = trace(fig, cls)
        assert bar.type == "bar" and list(bar.x) == ["Female", "Male"]
        np.testing.assert_allclose(bar.error_y.array, df[f"{cls}_sd"])
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 2 and all((r.x0, r.x1) == (0.5, 1.5) for r in rects)


def test_sweep_without_brain_age_has_one_panel(rng):
    df = sweep_frame([0, 1, 2], rng, age=False)
    fig = whatif.sweep_figure(df, APOE4, 1)
    assert "brain age" not in {t.name for t in fig.data}
    assert "yaxis2" not in fig.to_plotly_json()["layout"]


# Scenarios ---------------------------------------------------------------------------


def prediction(cn: float, mci: float, ad: float, age: float) -> dict:
    return {
        "probabilities": {"CN": cn, "MCI": mci, "AD": ad},
        "probabilities_sd": {"CN": 0.01, "MCI": 0.02, "AD": 0.03},
        "brain_age": age,
        "brain_age_sd": 1.5,
    }


def test_outcome_table_differences_are_b_minus_a():
    table = whatif.scenario_outcome_table(
        prediction(0.6, 0.3, 0.1, 70.0), prediction(0.2, 0.5, 0.3, 74.5)
    )
    assert list(table.index) == ["P(CN)", "P(MCI)", "P(AD)", "brain age (years)"]
    np.testing.assert_allclose(table["Δ (B − A)"], [-0.4, 0.2, 0.2, 4.5])
    np.testing.assert_allclose(table["A sd"], [0.01, 0.02, 0.03, 1.5])
    styled = whatif.style_outcome_table(table).to_html()
    assert "-40.0%" in styled and "+4.5" in styled


def test_inputs_table_flags_changed_fields_only():
    a = {"AGE": 70.0, "PTGENDER": "Female", "APOE4": None, "ABETA": 800.0}
    b = {**a, "APOE4": 2, "ABETA": 800.0000001}
    table = whatif.scenario_inputs_table(a, b)
    changed = dict(zip(table["field"], table["changed"], strict=True))
    assert changed["APOE4 alleles"] and not changed["Age (years)"]
    assert not changed["CSF amyloid-β 1-42 (pg/mL)"]  # equal within rounding
    assert sum(changed.values()) == 1
    row = table[table["field"] == "APOE4 alleles"].iloc[0]
    assert (row["A"], row["B"]) == ("unknown", "2 alleles")
    styler = whatif.style_inputs_table(table)
    styler._compute()  # the highlight lands on B's changed cell only
    cells = {k for k, v in styler.ctx.items() if v}
    assert cells == {(int(row.name), 2)}
    assert "changed" not in styler.data.columns


def test_scenario_bars_stack_each_scenario_to_one():
    a, b = {"CN": 0.5, "MCI": 0.3, "AD": 0.2}, {"CN": 0.1, "MCI": 0.2, "AD": 0.7}
    (chart,) = parse(whatif.scenario_bars_html(a, b)).by_class("hf-scenarios")
    assert json.loads(chart.attrs["data-labels"]) == ["Scenario A", "Scenario B"]
    assert json.loads(chart.attrs["data-series"]) == list(AD_CLASSES)
    assert json.loads(chart.attrs["data-values"]) == [[a[c], b[c]] for c in AD_CLASSES]
    bars = chart.by_class("hf-bar")
    assert [bar.style()["background"] for bar in bars] == [
        CLASS_COLORS[c] for _ in "AB" for c in AD_CLASSES
    ]
    # Each scenario's parts lie end to end from 0 and fill the axis (0-100 %).
    for k, probs in enumerate((a, b)):
        row = bars[3 * k : 3 * k + 3]
        lefts = [percent(bar.style()["left"]) for bar in row]
        widths = [percent(bar.style()["width"]) for bar in row]
        np.testing.assert_allclose(widths, [probs[c] for c in AD_CLASSES], atol=1e-4)
        np.testing.assert_allclose(lefts, np.cumsum([0, *widths[:2]]), atol=1e-4)
        assert lefts[-1] + widths[-1] == pytest.approx(1.0, abs=1e-4)
    # Parts from 8 % on are labelled inside with the class and its share.
    labels = [v.text() for v in chart.by_class("hf-value")]
    assert labels == ["CN 50%", "MCI 30%", "AD 20%", "CN 10%", "MCI 20%", "AD 70%"]
    small = whatif.scenario_bars_html(a, {"CN": 0.05, "MCI": 0.25, "AD": 0.7})
    assert "CN 5%" not in small and "MCI 25%" in small
    assert "probability" in chart.text(" ")


# Flips -------------------------------------------------------------------------------


def test_flip_table_lists_smallest_relative_change_first():
    record = {"AGE": 70.0, "PTGENDER": "Female", "APOE4": 0, "ABETA": 900.0}
    flips = {
        "AGE": {"value": 82.0, "from": "CN", "to": "MCI", "change": 12.0},  # 15 %
        "PTGENDER": None,
        "APOE4": {"value": 1, "from": "CN", "to": "MCI", "change": 1.0},  # 50 %
        "ABETA": {"value": 840.0, "from": "CN", "to": "AD", "change": -60.0},  # 4 %
    }
    table = whatif.flip_table(record, flips)
    assert list(table["name"]) == ["ABETA", "AGE", "APOE4", "PTGENDER"]
    first = table.iloc[0]
    assert first["change"] == "−60 pg/mL" and first["diagnosis"] == "CN → AD"
    assert first["current"] == "900 pg/mL" and first["flip value"] == "840 pg/mL"
    assert table.iloc[1]["change"] == "+12 years"
    last = table.iloc[-1]
    assert last["diagnosis"] == whatif.NO_FLIP and last["flip value"] == "—"


def test_flip_of_a_category_or_unknown_field_has_no_numeric_change():
    record = {"PTGENDER": "Female", "FDG": None}
    flips = {
        "PTGENDER": {"value": "Male", "from": "MCI", "to": "AD", "change": None},
        "FDG": {"value": 0.9, "from": "MCI", "to": "AD", "change": None},
    }
    table = whatif.flip_table(record, flips).set_index("name")
    assert table.loc["PTGENDER", "change"] == "Female → Male"
    assert table.loc["FDG", "change"] == "set"
    assert table.loc["FDG", "current"] == "unknown"


def test_flip_table_without_fields_is_empty_with_columns():
    table = whatif.flip_table({}, {})
    assert table.empty and "diagnosis" in table.columns
