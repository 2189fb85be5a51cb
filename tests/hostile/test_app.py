"""The hostile corpus through the app (Streamlit's AppTest, headless): a refused
upload leaves one error line (no traceback), the patient and the EHR the user
entered, and a page that still predicts and takes edits; what works becomes the
subject with the EHR kept; a hostile link value is one warning line and the rest
of the link is kept; nothing is written outside a temporary folder that is gone."""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, TIMEOUT, number_input, probabilities
from tests.hostile.conftest import Sandbox, assert_one_line
from tests.hostile.corpus import EHR_CASES, Case, EHRCase, params

AGE = "Age (years)"
QC = "Quality check: "


@pytest.fixture
def app() -> AppTest:
    """The app on its Patient page, after its first run."""
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def upload(at: AppTest, case: Case) -> AppTest:
    mime = (
        "application/zip"
        if case.filename.endswith(".zip")
        else "application/octet-stream"
    )
    at.file_uploader(key="upload_widget").set_value((case.filename, case.data(), mime))
    return at.run()


def errors(at: AppTest) -> list[str]:
    assert not at.exception, [e.value for e in at.exception]
    return [e.value for e in at.error]


@pytest.mark.parametrize("case", params(outcome="refused"))
def test_a_refused_upload_is_one_line_and_keeps_the_patient(
    app: AppTest, case: Case, sandbox: Sandbox
) -> None:
    number_input(app, AGE).set_value(66).run()
    subject, ehr = app.session_state["subject"], dict(app.session_state["ehr"])
    case.data()  # built before the file system is looked at
    before = sandbox.begin()
    upload(app, case)
    (message,) = errors(app)
    assert message.startswith(f"{case.filename}: ")
    assert_one_line(message, case.fragment)
    assert app.session_state["subject"] == subject
    assert app.session_state["ehr"] == ehr
    assert probabilities(app)
    sandbox.check(before, case)
    number_input(app, AGE).set_value(67).run()  # the page still takes edits
    assert not app.exception and app.session_state["ehr"]["AGE"] == 67
    assert probabilities(app)


@pytest.mark.parametrize("case", params(outcome="works") + params(outcome="warns"))
def test_a_usable_upload_becomes_the_subject_and_keeps_the_ehr(
    app: AppTest, case: Case, sandbox: Sandbox
) -> None:
    app.radio(key="preprocess_mode").set_value("none").run()
    number_input(app, AGE).set_value(66).run()
    case.data()
    before = sandbox.begin()
    upload(app, case)
    assert errors(app) == []
    subject = app.session_state["subject"]
    assert subject.startswith("upload:") and subject.endswith("-none")
    assert app.session_state["ehr"]["AGE"] == 66
    assert sum(probabilities(app)) == pytest.approx(1, abs=1e-3)
    shown = [w.value.removeprefix(QC) for w in app.warning if w.value.startswith(QC)]
    if case.outcome == "works":
        assert shown == []
    else:
        assert any(case.fragment in w for w in shown), shown
    sandbox.check(before, case)


LINK_CASES = [c for c in EHR_CASES if c.link is not None]


@pytest.mark.parametrize("case", LINK_CASES, ids=[c.name for c in LINK_CASES])
def test_a_hostile_link_value_is_one_warning_and_the_rest_is_kept(
    case: EHRCase,
) -> None:
    from hyperfusion.data.examples import example_record, list_examples

    field, value = case.link
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"PTEDUCAT": "12", field: value})
    at.run()
    assert errors(at) == []
    (warning,) = [w.value for w in at.warning if "link" in w.value]
    assert "\n" not in warning and field in warning
    ehr = at.session_state["ehr"]
    assert ehr["PTEDUCAT"] == 12  # what the link did say right is kept
    default = example_record(str(list_examples()["PTID"].iloc[0]))
    if field in ehr:
        assert ehr[field] == default[field]  # the example's value stands in
    assert probabilities(at)


@pytest.mark.parametrize("value", [250, -5, math.nan, math.inf])
def test_an_impossible_number_in_the_editor_leaves_the_last_edit(
    app: AppTest, value: float
) -> None:
    number_input(app, AGE).set_value(66).run()
    number_input(app, AGE).set_value(value).run()
    assert errors(app) == []
    assert app.session_state["ehr"]["AGE"] == 66
    assert number_input(app, AGE).value == 66 and probabilities(app)
