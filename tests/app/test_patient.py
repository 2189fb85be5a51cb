"""The Patient page (the app's default page): renders, reacts to edits, keeps them,
takes uploads."""

from __future__ import annotations

import gzip

import pytest
from nilearn.datasets import load_mni152_template
from streamlit.testing.v1 import AppTest

from hyperfusion.viz.html_bars import PROBABILITY_TITLE
from tests.app.conftest import (
    APP,
    EXPLAIN,
    PATIENT,
    TIMEOUT,
    assert_clean,
    metric,
    number_input,
    probabilities,
)
from tests.tolerances import PROB_SUM_ATOL

CLASSES = ["CN", "MCI", "AD"]
ABETA = "CSF amyloid-β 1-42 (pg/mL)"


def test_the_default_subject_renders_without_errors(app):
    assert_clean(app)
    assert app.title[0].value == "Patient"
    assert metric(app, "Brain age").endswith(" y")
    probs = probabilities(app)
    assert len(probs) == 3 and sum(probs) == pytest.approx(1.0, abs=PROB_SUM_ATOL)
    bars = next(
        el.proto.body for el in app.get("html") if "data-probabilities" in el.proto.body
    )
    assert PROBABILITY_TITLE in bars  # a title that says what is shown
    boxes = [*app.success, *app.warning]
    assert any("Quality check" in box.value for box in boxes)
    assert app.session_state["last_latency_ms"] > 0


def test_an_ehr_edit_changes_the_predictions(app):
    before, gap_before = probabilities(app), metric(app, "Brain-age gap")
    number_input(app, "Age (years)").set_value(90).run()
    assert_clean(app)
    assert app.session_state["ehr"]["AGE"] == 90
    assert probabilities(app) != before
    assert metric(app, "Brain-age gap") != gap_before


def test_an_emptied_box_is_an_unknown_field_and_a_number_makes_it_known(app):
    box = number_input(app, ABETA)
    measured, before = box.value, probabilities(app)
    assert measured is not None  # the default subject has CSF amyloid measured
    box.set_value(None).run()
    assert_clean(app)
    assert app.session_state["ehr"]["ABETA"] is None
    assert number_input(app, ABETA).value is None  # shown empty, not a fake value
    assert number_input(app, ABETA).placeholder == "unknown"
    assert probabilities(app) != before  # the model now imputes it
    number_input(app, ABETA).set_value(measured).run()
    assert app.session_state["ehr"]["ABETA"] == measured
    assert probabilities(app) == before  # the same record gives the same output


def test_a_required_field_has_no_empty_state(app):
    box = number_input(app, "Age (years)")
    assert box.value is not None and not box.placeholder


def test_edits_survive_a_visit_to_other_pages(app):
    number_input(app, "Age (years)").set_value(83).run()
    app.switch_page(EXPLAIN).run()
    assert_clean(app)
    assert app.session_state["ehr"]["AGE"] == 83
    app.switch_page(PATIENT).run()
    assert app.session_state["ehr"]["AGE"] == 83
    assert number_input(app, "Age (years)").value == 83


def test_reset_restores_the_subjects_record(app):
    original = app.session_state["ehr"]["AGE"]
    number_input(app, "Age (years)").set_value(41).run()
    next(b for b in app.button if b.label.startswith("Reset")).click().run()
    assert app.session_state["ehr"]["AGE"] == original
    assert number_input(app, "Age (years)").value == original


def test_a_bad_upload_shows_one_error_and_keeps_the_subject(app):
    subject, ehr = app.session_state["subject"], dict(app.session_state["ehr"])
    uploader = app.file_uploader(key="upload_widget")
    uploader.set_value(("notes.nii.gz", b"not an MRI at all\n" * 20, "text/plain"))
    app.run()
    assert not app.exception
    assert len(app.error) == 1 and app.error[0].value.startswith("notes.nii.gz: ")
    assert "\n" not in app.error[0].value
    assert app.session_state["subject"] == subject
    assert app.session_state["ehr"] == ehr
    assert probabilities(app)  # the previous subject still predicts


@pytest.mark.slow
def test_a_1mm_nifti_upload_becomes_the_subject_and_keeps_the_ehr():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    number_input(at, "Age (years)").set_value(66).run()
    data = gzip.compress(load_mni152_template(resolution=1).to_bytes(), mtime=0)
    at.file_uploader(key="upload_widget").set_value(
        ("mni_1mm.nii.gz", data, "application/gzip")
    )
    at.run()
    assert_clean(at)
    assert at.session_state["subject"].startswith("upload:")
    assert at.session_state["upload"]["name"] == "mni_1mm.nii.gz"
    assert at.session_state["ehr"]["AGE"] == 66
    assert at.selectbox(key="subject_pick").value == at.session_state["subject"]
    assert probabilities(at)


def test_the_gap_is_shown_against_the_measured_reference(app):
    """Beside the brain-age gap: what evaluation measured for each diagnosis on the
    AD cohort (metrics.json's transfer block), labelled synthetic."""
    from hyperfusion.modelcard import measured

    transfer = measured.load_metrics().transfer
    captions = " ".join(c.value for c in app.caption)
    if transfer is None:
        assert "Typical for" not in captions
        return
    for dx, gap in transfer.gap.items():
        assert f"{dx} {gap.text()}" in captions
    assert "SYNTHETIC" in captions.split("Typical for", 1)[1]
