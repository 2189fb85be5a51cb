"""The shareable link: the example subject and the EHR edits in the query
parameters (set params -> state, edit -> params), bad values (one warning line,
the example's value), and the navigation that carries it (titled pages, the
Patient page first)."""

from __future__ import annotations

import gzip

import pytest
from nilearn.datasets import load_mni152_template
from streamlit.testing.v1 import AppTest

from hyperfusion.data.examples import example_record, list_examples
from hyperfusion.ui import link, navigation
from tests.app.conftest import (
    APP,
    EXPLAIN,
    PATIENT,
    TIMEOUT,
    assert_clean,
    number_input,
)

AGE = "Age (years)"
EXAMPLES = [str(p) for p in list_examples()["PTID"]]
OTHER = EXAMPLES[-1]  # not the default example


def _opened(params: dict[str, str]) -> AppTest:
    """The app opened from a link with these query parameters."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.run()


def test_a_link_restores_the_example_and_its_edits():
    at = _opened({"subject": OTHER, "AGE": "83", "abeta": "unknown"})
    assert_clean(at)
    assert not at.warning or all("link" not in w.value for w in at.warning)
    assert at.session_state["subject"] == OTHER
    ehr = at.session_state["ehr"]
    assert ehr["AGE"] == 83 and ehr["ABETA"] is None
    assert ehr["PTGENDER"] == example_record(OTHER)["PTGENDER"]
    assert number_input(at, AGE).value == 83
    assert at.selectbox(key="subject_pick").value == OTHER
    # The link is rewritten in the app's own spelling.
    assert at.query_params == {"subject": OTHER, "AGE": "83", "ABETA": "unknown"}


def test_edits_and_a_new_subject_are_written_into_the_link(app):
    subject = app.session_state["subject"]
    assert app.query_params == {"subject": subject}  # nothing edited yet
    number_input(app, AGE).set_value(91).run()
    assert app.query_params == {"subject": subject, "AGE": "91"}
    app.selectbox(key="subject_pick").set_value(OTHER).run()
    assert_clean(app)
    assert app.query_params == {"subject": OTHER}  # its own record: no edits
    number_input(app, AGE).set_value(example_record(OTHER)["AGE"]).run()
    assert app.query_params == {"subject": OTHER}  # back to the example's value


def test_the_link_survives_page_switches(app):
    number_input(app, AGE).set_value(77).run()
    app.switch_page(EXPLAIN).run()
    assert_clean(app)
    assert app.query_params["AGE"] == "77"
    app.switch_page(PATIENT).run()
    assert app.query_params["AGE"] == "77" and number_input(app, AGE).value == 77


def test_bad_link_values_give_one_warning_and_the_examples_values():
    at = _opened({"subject": "NOT_A_SUBJECT", "AGE": "old", "APOE4": "7", "FOO": "1"})
    assert_clean(at)  # no exception, no error box
    warnings = [w.value for w in at.warning if "link" in w.value]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    line = warnings[0]
    assert "'NOT_A_SUBJECT' is not a bundled example" in line
    assert "AGE = 'old' is not a number" in line and "and 1 more" in line
    default = EXAMPLES[0]
    assert at.session_state["subject"] == default
    assert at.session_state["ehr"] == example_record(default)
    assert at.query_params == {"subject": default}  # the link is clean again
    at.run()
    assert not [w for w in at.warning if "link" in w.value]  # shown once


def test_a_required_field_cannot_be_unknown_in_a_link():
    subject, record, problems = link.parse_link(
        {"subject": [OTHER], "PTGENDER": ["unknown"], "ptau": ["25", "30"]}
    )
    assert subject == OTHER and record["PTGENDER"] == example_record(OTHER)["PTGENDER"]
    assert record["PTAU"] == 30  # a repeated parameter counts with its last value
    assert len(problems) == 1 and problems[0].startswith("PTGENDER cannot be unknown")


def test_link_params_name_only_the_changed_fields():
    record = {**example_record(OTHER), "AGE": 70.5, "FDG": None}
    assert link.link_params(OTHER, record) == {
        "subject": OTHER,
        "AGE": "70.5",
        "FDG": "unknown",
    }
    assert link.parse_link(link.link_params(OTHER, record))[1] == record


@pytest.mark.slow
def test_an_upload_never_goes_into_the_link(app):
    number_input(app, AGE).set_value(66).run()
    origin = app.session_state["ehr_origin"]
    data = gzip.compress(load_mni152_template(resolution=2).to_bytes(), mtime=0)
    app.file_uploader(key="upload_widget").set_value(
        ("scan.nii.gz", data, "application/gzip")
    )
    app.run()
    assert_clean(app)
    assert app.session_state["subject"].startswith("upload:")
    assert app.query_params == {"subject": origin, "AGE": "66"}
    assert any("never go into a link" in c.value for c in app.sidebar.caption)


def test_the_navigation_lists_every_page_titled_with_the_patient_first(app):
    titles = [navigation.page_title(p) for p in navigation.page_files()]
    assert titles[0] == "Patient" and "Explain" in titles and "What if" in titles
    assert app.title[0].value == "Patient"  # the app opens on the Patient page
    for path, title in zip(navigation.page_files(), titles, strict=True):
        if title in ("Explain", "Patient"):  # each page's heading is its title
            app.switch_page(f"pages/{path.name}").run()
            assert app.title[0].value == title
