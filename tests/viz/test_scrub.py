"""The scrubbing figure: one plotly frame per swept value, a slider over them that
starts at the current value, and frames that move only the moving traces."""

from __future__ import annotations

import numpy as np
import pytest

from hyperfusion.config import AD_CLASSES
from hyperfusion.data.ehr_schema import FIELD_BY_NAME
from hyperfusion.viz import whatif
from hyperfusion.viz.whatif.scrub import MOVING_TRACES, STEP_ANIMATION
from tests.viz.test_whatif import sweep_frame

AGE, SEX, TAU = FIELD_BY_NAME["AGE"], FIELD_BY_NAME["PTGENDER"], FIELD_BY_NAME["TAU"]


def _figure(field, current, rng, channels: int = 16, age: bool = True):
    values = whatif.scrub_values(field, current)
    df = sweep_frame(values, rng, age=age)
    norms = rng.uniform(0.2, 2.0, (len(values), channels)).astype(np.float32)
    return whatif.scrub_figure(df, norms, field, current, layer="l4"), df, norms


def test_every_value_is_a_frame_and_a_step_starting_at_the_current_one():
    rng = np.random.default_rng(0)
    fig, df, norms = _figure(TAU, 206.1, rng)
    assert len(df) == 65 and 206.1 in df["value"].tolist()
    now = df["value"].tolist().index(206.1)
    assert [f.name for f in fig.frames] == [str(i) for i in range(len(df))]
    for i, frame in enumerate(fig.frames):
        assert list(frame.traces) == MOVING_TRACES
        probs, labels, age, weights = frame.data
        np.testing.assert_allclose(probs.y, df.loc[i, list(AD_CLASSES)].to_numpy())
        np.testing.assert_allclose(age.y, [df.loc[i, "brain_age"]])
        np.testing.assert_allclose(weights.y, norms[i])
        assert labels.text == tuple(f"{p:.0%}" for p in probs.y)
    slider = fig.layout.sliders[0]
    assert slider.active == now and len(slider.steps) == len(df)
    assert slider.steps[now].label == "206 pg/mL" + whatif.CURRENT_LABEL
    assert slider.steps[0].label == "80 pg/mL"
    assert slider.currentvalue.prefix == "CSF total tau: "
    for i, step in enumerate(slider.steps):
        assert step.method == "animate" and step.args == ((str(i),), STEP_ANIMATION)
    assert STEP_ANIMATION["frame"] == {"duration": 0, "redraw": False}
    assert STEP_ANIMATION["transition"] == {"duration": 0}
    # The figure starts at the current value; the current norms stay drawn.
    np.testing.assert_allclose(fig.data[0].y, df.loc[now, list(AD_CLASSES)])
    np.testing.assert_allclose(fig.data[4].y, norms[now])
    assert "l4" in fig.layout.annotations[2].text


def test_axes_hold_every_frame():
    rng = np.random.default_rng(1)
    fig, df, norms = _figure(AGE, 68.4, rng)
    assert fig.layout.yaxis.range == (0, 1.12)
    low, high = fig.layout.yaxis2.range
    # Age is swept: the entered age moves beside the brain age, inside the axis.
    assert low < 18 and high > 100
    assert list(fig.frames[0].data[2].x) == ["brain age", "entered age"]
    assert fig.frames[0].data[2].y[1] == df.loc[0, "value"]
    assert fig.layout.yaxis3.range[1] >= norms.max()


def test_categories_unknown_values_and_no_brain_age():
    rng = np.random.default_rng(2)
    fig, df, _ = _figure(SEX, "Male", rng)
    assert df["value"].tolist() == ["Female", "Male"]
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["Female", "Male" + whatif.CURRENT_LABEL]
    assert list(fig.frames[1].data[2].x) == ["brain age"]

    fig, df, _ = _figure(TAU, None, rng, age=False)  # unknown: no current step
    assert len(df) == 64 and fig.layout.sliders[0].active == 0
    labels = [s.label for s in fig.layout.sliders[0].steps]
    assert not any(label.endswith(whatif.CURRENT_LABEL) for label in labels)
    assert len(fig.data) == 4  # no reference norms without a current value
    assert fig.frames[0].data[2].text == ("not predicted",)


def test_norms_must_match_the_sweep():
    rng = np.random.default_rng(3)
    df = sweep_frame(whatif.scrub_values(TAU, None), rng)
    with pytest.raises(ValueError, match="norms"):
        whatif.scrub_figure(df, np.ones((3, 8)), TAU, None)


def test_scrub_values_and_current_index():
    assert whatif.scrub_values(AGE, 68.4)[39] == 68.4
    assert whatif.scrub_values(FIELD_BY_NAME["APOE4"], 2) == [0, 1, 2]
    values = whatif.scrub_values(SEX, "Female")
    assert whatif.current_index(values, "Female") == 0
    assert whatif.current_index(values, None) is None
    assert whatif.current_index([1.0, 2.0], 3.0) is None
