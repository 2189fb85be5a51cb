"""Acceptance of the Streamlit app in a real browser (chromium via Playwright).

What a user does: open the app, visit every page from the sidebar, edit the health
record and watch the prediction move (a fragment's rerun, nothing else re-sent),
keep the edit across pages and in the link (a reload restores it), upload a NIfTI
(a good one and a broken one). Screenshots of every page go to a temporary folder,
or to ``docs/screenshots`` with ``HF_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from hyperfusion.bench_browser import scripts
from tests.browser.conftest import (
    FIRST_PAINT_MS,
    errors,
    exceptions,
    full_page_screenshot,
    go_to,
    nav_links,
    rerun,
    script_runs,
    wait_rendered,
)
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

PATIENT = "Patient"
# Error boxes that are content, not failures: (page title, start of the text).
EXPECTED_ERRORS = {("Model card", "Not a medical device.")}
AGE = "Age (years)"
ABETA = "CSF amyloid-β 1-42 (pg/mL)"
UPLOAD_INPUT = '[data-testid="stFileUploaderDropzoneInput"]'

_PROBABILITIES = scripts.PROBABILITIES  # the drawn bars


# Text a widget shows, including the values of its inputs.
_SHOWN_TEXT = """(el) => [el.innerText,
  ...Array.from(el.querySelectorAll('input'), (i) => i.value)].join(' ')"""


def _page_label(script: Path) -> str:
    """A page's title (and sidebar label), from its file name."""
    return re.sub(r"^\d+_", "", script.stem).replace("_", " ")


def present_pages() -> list[str]:
    """Sidebar labels of the pages present in pages/, in order (Patient first)."""
    return [_page_label(p) for p in sorted((REPO_ROOT / "pages").glob("*.py"))]


def _slug(title: str) -> str:
    return title.lower().replace(" ", "_").replace("-", "_")


def title(page: Any) -> str:
    """The page's h1 title."""
    return page.locator('[data-testid="stMain"] h1').first.inner_text().strip()


def metric(page: Any, label: str) -> str:
    """The value of the metric labelled ``label``."""
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def prediction(page: Any) -> tuple[str, str, list[float]]:
    """What the Patient page shows: brain age, brain-age gap, CN / MCI / AD."""
    found = page.wait_for_function(_PROBABILITIES, timeout=30_000)
    probabilities = [float(p) for p in found.json_value()]
    return metric(page, "Brain age"), metric(page, "Brain-age gap"), probabilities


def changed_prediction(
    page: Any, before: tuple[str, str, list[float]], timeout_s: float = 15.0
) -> tuple[str, str, list[float]]:
    """The shown prediction once it differs from ``before`` (charts redraw a moment
    after the script ends); the last one seen if it never does."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = prediction(page)
        if now != before or time.monotonic() > deadline:
            return now
        page.wait_for_timeout(200)


def set_number(page: Any, label: str, value: float) -> None:
    """Type a value into a number input, commit it with Enter, wait for the rerun."""
    box = page.get_by_label(label, exact=True)
    box.fill(f"{value:g}")
    with rerun(page):
        box.press("Enter")


def assert_clean(page: Any, where: str) -> None:
    """No exception element, and no error box other than the expected ones."""
    assert exceptions(page) == [], f"{where}: exception shown: {exceptions(page)}"
    unexpected = [
        text
        for text in errors(page)
        if not any(where == p and text.startswith(s) for p, s in EXPECTED_ERRORS)
    ]
    assert unexpected == [], f"{where}: unexpected error boxes: {unexpected}"


def sidebar_caption(page: Any) -> Any:
    """The sidebar's 'Current patient' summary (the first of its captions)."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    return sidebar.locator('[data-testid="stCaptionContainer"]').first


@pytest.fixture(scope="session")
def mni152_1mm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nilearn's 1 mm MNI152 template (197x233x189) saved as .nii.gz."""
    from nilearn.datasets import load_mni152_template

    path = tmp_path_factory.mktemp("upload") / "mni152_1mm.nii.gz"
    load_mni152_template(resolution=1).to_filename(path)
    return path


def test_every_page_renders_for_the_default_subject(
    page: Any, screenshot_dir: Path
) -> None:
    """The sidebar links to every page in pages/, "Patient" first; each page,
    reached from the sidebar, renders for the default example subject with
    its title, no exception and no unexpected error box; a full-page screenshot of
    each is saved once everything is drawn."""
    labels = list(nav_links(page))
    assert labels == present_pages() and labels[0] == PATIENT, labels
    assert title(page) == PATIENT
    for name in [*present_pages()[1:], PATIENT]:
        go_to(page, name)
        assert title(page) == name
        assert_clean(page, name)
        full_page_screenshot(page, screenshot_dir / f"{_slug(name)}.png")
    assert {p.stem for p in screenshot_dir.glob("*.png")} >= {
        _slug(n) for n in present_pages()
    }


def test_ehr_edit_changes_the_prediction(page: Any) -> None:
    """Changing the age on the Patient page re-runs the models: the brain-age gap
    and the CN / MCI / AD probabilities shown change, the brain age does not (the
    brain-age model sees the MRI and sex only)."""
    age_box = page.get_by_label(AGE, exact=True)
    old_age = float(age_box.input_value())
    before = prediction(page)
    new_age = 90 if old_age < 80 else 40
    set_number(page, AGE, new_age)
    after = changed_prediction(page, before)
    assert float(age_box.input_value()) == new_age
    assert after[0] == before[0], "brain age moved with the entered age"
    assert after[1] != before[1], f"brain-age gap unchanged: {before[1]}"
    assert after[2] != before[2], f"probabilities unchanged: {before[2]}"
    assert f"{new_age} years" in sidebar_caption(page).inner_text()
    assert_clean(page, PATIENT)


def _unknown_count(page: Any) -> int:
    found = re.search(r"(\d+) fields unknown", sidebar_caption(page).inner_text())
    assert found, sidebar_caption(page).inner_text()
    return int(found.group(1))


def test_emptying_a_box_makes_the_field_unknown(page: Any) -> None:
    """Clearing an optional field's box and pressing Enter makes it unknown: the
    box stays empty (its placeholder says "unknown"), the sidebar counts one more
    unknown field, the probabilities change, and the link says so."""
    box = page.get_by_label(ABETA, exact=True)
    assert box.input_value() != ""  # the default subject has it measured
    before, unknown = prediction(page), _unknown_count(page)
    box.fill("")
    with rerun(page):
        box.press("Enter")
    after = changed_prediction(page, before)
    assert after[2] != before[2], "probabilities unchanged"
    assert box.input_value() == "" and box.get_attribute("placeholder") == "unknown"
    assert _unknown_count(page) == unknown + 1
    assert "ABETA=unknown" in page.url
    assert_clean(page, PATIENT)


def _sent_labels(messages: list[Any]) -> list[str]:
    """The labels of the widgets and metrics a run sent (re-sent elements)."""
    labels = []
    for msg in messages:
        if msg.HasField("delta") and msg.delta.HasField("new_element"):
            element = msg.delta.new_element
            inner = getattr(element, element.WhichOneof("type"))
            labels.append(getattr(inner, "label", ""))
    return labels


def test_an_ehr_edit_reruns_only_its_fragment_and_goes_into_the_link(
    page: Any,
) -> None:
    """Pressing Enter in the Age field reruns only the editor's fragment: its run
    is fragment-scoped, it re-sends the prediction but neither the subject picker
    nor the slice viewer, and the address bar gets the edit, so that a reload
    restores the same patient."""
    age_box = page.get_by_label(AGE, exact=True)
    new_age = 90 if float(age_box.input_value()) < 80 else 40
    before = prediction(page)
    age_box.fill(str(new_age))
    with script_runs(page).record() as messages, rerun(page):
        age_box.press("Enter")
    after = changed_prediction(page, before)
    assert after[1] != before[1] and after[2] != before[2]
    runs = [m.metadata.run for m in messages if m.HasField("new_session")]
    assert runs and all(run.fragment_ids for run in runs), runs  # fragment-scoped
    sent = _sent_labels(messages)
    assert "Brain-age gap" in sent and AGE in sent
    assert "Example subject" not in sent and "Axial plane: z (mm)" not in sent
    assert f"AGE={new_age}" in page.url and "subject=" in page.url
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=FIRST_PAINT_MS)
    wait_rendered(page, FIRST_PAINT_MS)
    assert float(page.get_by_label(AGE, exact=True).input_value()) == new_age
    assert prediction(page)[1] == after[1]
    assert_clean(page, PATIENT)


def test_edited_ehr_survives_every_page(page: Any) -> None:
    """An EHR edit is kept while the user visits every other page (each page's
    sidebar shows it) and is still in the Age field back on the Patient page."""
    old_age = float(page.get_by_label(AGE, exact=True).input_value())
    new_age = 83 if old_age != 83 else 61
    before = prediction(page)
    set_number(page, AGE, new_age)
    edited = changed_prediction(page, before)
    for name in present_pages()[1:]:
        go_to(page, name)
        assert title(page) == name
        assert f"{new_age} years" in sidebar_caption(page).inner_text(), name
        assert f"AGE={new_age}" in page.url, name  # the link follows every page
    go_to(page, PATIENT)
    assert title(page) == PATIENT
    assert float(page.get_by_label(AGE, exact=True).input_value()) == new_age
    assert prediction(page) == edited
    assert_clean(page, PATIENT)


def test_upload_of_the_1mm_mni152_template_works(page: Any, mni152_1mm: Path) -> None:
    """nilearn's 1 mm MNI152 template uploaded as .nii.gz becomes the subject: the
    quality check and a prediction are shown, with no error and no exception."""
    before = prediction(page)
    with rerun(page, timeout_ms=120_000):
        page.locator(UPLOAD_INPUT).set_input_files(str(mni152_1mm))
    picker = page.locator('[data-testid="stSelectbox"]', has_text="Example subject")
    assert "Uploaded: mni152_1mm.nii.gz" in picker.evaluate(_SHOWN_TEXT)
    assert "Upload: mni152_1mm.nii.gz" in sidebar_caption(page).inner_text()
    qc = page.get_by_text(re.compile(r"^Quality check"))
    assert qc.count() >= 1, "no quality-check verdict shown"
    assert page.get_by_text(re.compile(r"^Correlation with MNI152")).count() == 1
    brain_age, gap, probabilities = changed_prediction(page, before)
    assert re.fullmatch(r"-?\d+\.\d y", brain_age), brain_age
    assert re.fullmatch(r"[+-]\d+\.\d y", gap), gap
    assert sum(probabilities) == pytest.approx(1, abs=1e-3), probabilities
    assert probabilities != before[2], "the prediction did not follow the new image"
    assert_clean(page, PATIENT)


def test_broken_upload_shows_one_line_and_the_app_stays_usable(
    page: Any, tmp_path: Path
) -> None:
    """A text file named .nii.gz gives one error line naming the file (no
    traceback), the subject stays, and a later EHR edit still updates the
    prediction."""
    broken = tmp_path / "broken.nii.gz"
    broken.write_text("this is not a NIfTI image\n" * 20)
    caption = sidebar_caption(page).inner_text()
    with rerun(page):
        page.locator(UPLOAD_INPUT).set_input_files(str(broken))
    shown = errors(page)
    assert len(shown) == 1, shown
    assert shown[0].startswith("broken.nii.gz:"), shown[0]
    assert "\n" not in shown[0] and "Traceback" not in shown[0], shown[0]
    assert exceptions(page) == []
    assert sidebar_caption(page).inner_text() == caption
    wait_rendered(page)
    before = prediction(page)
    old_age = float(page.get_by_label(AGE, exact=True).input_value())
    set_number(page, AGE, 45 if old_age > 60 else 75)
    after = changed_prediction(page, before)
    assert after[1] != before[1] and after[2] != before[2]
    assert exceptions(page) == []
