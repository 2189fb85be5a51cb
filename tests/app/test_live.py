"""Partial reruns of the Patient page: the EHR editor and what it drives share one
fragment, the subject picker and the slice viewer sit outside it, and an edit
rebuilds no slice figure (AppTest always reruns the whole script, so what a
fragment holds is read from each element's fragment id, and what is rebuilt from
the figure builders' call counts)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from hyperfusion.explain.methods import get_method
from hyperfusion.explain.settings import default_method
from hyperfusion.models.checkpoint import WEIGHTS_DIR
from hyperfusion.viz import html_bars, slices
from tests.app.conftest import (
    assert_clean,
    fragment_of,
    number_input,
    probabilities,
)

AGE = "Age (years)"


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """How often each figure builder ran (slice viewer, probability bars)."""
    calls: Counter = Counter()

    def counting(name: str, builder: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return builder(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        slices, "orthogonal_slices", counting("slices", slices.orthogonal_slices)
    )
    monkeypatch.setattr(
        html_bars,
        "probability_bars_html",
        counting("bars", html_bars.probability_bars_html),
    )
    return calls


def test_the_editor_and_everything_it_drives_share_one_fragment(app, sent):
    app.run()  # recorded from here on
    assert_clean(app)
    record = fragment_of(sent, "number_input", AGE)
    assert record, "the EHR editor is not in a fragment"
    for kind, label in [
        ("metric", "Brain age"),
        ("metric", "Brain-age gap"),
        ("download_button", "Prediction + EHR (JSON)"),
        ("button", "Reset to this subject's record"),
    ]:
        assert fragment_of(sent, kind, label) == record, label
    # The sidebar's summary follows the edits from inside the fragment.
    assert fragment_of(sent, "markdown", "**Current patient**", "body") == record
    assert fragment_of(sent, "heading", "Patient", "body") == ""
    assert fragment_of(sent, "selectbox", "Example subject") == ""
    assert fragment_of(sent, "button_group", "Volume") == ""
    viewer = fragment_of(sent, "slider", "Axial plane: z (mm)")
    assert viewer and viewer != record  # the viewer is a fragment of its own
    assert fragment_of(sent, "html", '<div class="hf-probabilities"', "body") == record


def test_with_the_overlay_on_the_viewer_moves_into_the_editors_fragment(app, sent):
    app.toggle(key="patient_cam").set_value(True).run()
    assert_clean(app)
    record = fragment_of(sent, "number_input", AGE)
    assert fragment_of(sent, "button_group", "Volume") == record
    # The overlay is the default (most faithful) method, not plain Grad-CAM.
    default = get_method(default_method(WEIGHTS_DIR)).label
    assert default != get_method("gradcam").label
    assert fragment_of(sent, "checkbox", f"{default} overlay") == record
    app.toggle(key="patient_cam").set_value(False).run()
    assert_clean(app)
    assert fragment_of(sent, "button_group", "Volume") == ""


def test_an_edit_changes_the_prediction_and_rebuilds_no_slice_figure(app, built):
    app.run()
    before, slice_builds = probabilities(app), built["slices"]
    number_input(app, AGE).set_value(88 if app.session_state["ehr"]["AGE"] < 80 else 55)
    app.run()
    assert_clean(app)
    assert probabilities(app) != before
    assert built["slices"] == slice_builds  # the unchanged viewer came from cache
    assert built["bars"] >= 1  # the prediction's chart was rebuilt


def test_moving_a_slice_builds_one_new_figure(app, built):
    slider = app.slider(key=next(k for k in _slider_keys(app) if "axial" in k))
    slider.set_value(slider.min + 2 * (slider.step or 1)).run()
    assert_clean(app)
    assert built["slices"] == 1
    app.run()  # the same cut again: served from the cache
    assert built["slices"] == 1


def test_the_overlay_follows_an_edit_and_only_then_rebuilds(app, built):
    app.toggle(key="patient_cam").set_value(True).run()
    assert_clean(app)
    builds = built["slices"]
    app.run()
    assert built["slices"] == builds
    number_input(app, AGE).set_value(95).run()
    assert_clean(app)
    assert app.session_state["ehr"]["AGE"] == 95
    assert built["slices"] - builds <= 1  # at most the overlay's new map


def _slider_keys(app: Any) -> list[str]:
    return [s.key for s in app.slider if s.key]
