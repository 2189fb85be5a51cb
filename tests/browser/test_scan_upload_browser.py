"""Any scan in, in a real browser: a raw-looking scan (the template moved, inside a
skull-and-scalp shell, as .nii.gz) and a zipped DICOM session each show the
preprocessing's steps and overlays and then a prediction, with no traceback; a
broken DICOM zip gives one clear line and the page stays usable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nibabel as nib
import pytest

from hyperfusion.bench_browser import scripts
from tests.browser.conftest import errors, exceptions, rerun, wait_rendered
from tests.data.scans import (
    IDENTIFIER_STRINGS,
    motion,
    moved,
    scanner_grid,
    shell_head,
    write_moved_head_scan,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

UPLOAD_INPUT = '[data-testid="stFileUploaderDropzoneInput"]'
SCAN_MS = 400_000  # deepbet and the registration on a shared 2-core CPU
STEPS = ("DICOM series to NIfTI", "Brain extraction", "Affine registration to MNI152")
_PROBABILITIES = scripts.PROBABILITIES  # the drawn bars


@pytest.fixture(scope="module")
def raw_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shell head moved (12, -6, 5 degrees; scale 1.05; 10, -8, 14 mm) on an
    axis-aligned 1 mm scanner grid, as .nii.gz."""
    head, _ = shell_head()
    shape = (200, 230, 200)
    affine = scanner_grid(shape)
    data = moved(
        head, motion((12.0, -6.0, 5.0), 1.05, (10.0, -8.0, 14.0)), affine, shape
    )
    path = tmp_path_factory.mktemp("raw") / "raw_head.nii.gz"
    nib.Nifti1Image(data, affine).to_filename(path)
    return path


@pytest.fixture(scope="module")
def dicom_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_moved_head_scan(tmp_path_factory.mktemp("dicom")).zip_path


def upload(page: Any, path: Path) -> None:
    """Choose a file in the uploader and wait until its preprocessing is drawn."""
    with rerun(page, timeout_ms=SCAN_MS):
        page.locator(UPLOAD_INPUT).set_input_files(str(path))
    wait_rendered(page, SCAN_MS)


def panel(page: Any) -> Any:
    """The scan's preprocessing panel."""
    return page.locator('[data-testid="stExpander"]', has_text="Scan preprocessing")


def assert_steps_overlays_and_prediction(page: Any, ran: tuple[str, ...]) -> None:
    box = panel(page)
    assert box.count() == 1, "no preprocessing panel"
    text = box.inner_text()
    for title in ran:
        assert re.search(rf"{re.escape(title)}.*: ran \(\d+\.\d s\)", text), text
    assert "Bias-field correction (N4)" in text and "skipped" in text
    assert "brain mask volume" in text and "scale along x" in text
    assert "rotation" in text and "correlation with the template" in text
    images = box.locator('[data-testid="stImage"] img')
    assert images.count() == 2, images.count()
    for i in range(2):
        width = images.nth(i).evaluate("(img) => img.naturalWidth")
        assert width > 100, width  # the image arrived and decoded
    probabilities = page.wait_for_function(_PROBABILITIES, timeout=30_000).json_value()
    assert sum(probabilities) == pytest.approx(1, abs=1e-3), probabilities
    assert exceptions(page) == []
    assert errors(page) == []


def test_a_raw_looking_nifti_shows_its_steps_overlays_and_a_prediction(
    page: Any, raw_scan: Path
) -> None:
    upload(page, raw_scan)
    assert_steps_overlays_and_prediction(page, STEPS[1:])
    assert "DICOM series to NIfTI" in panel(page).inner_text()  # skipped: a NIfTI
    assert (
        "Upload: raw_head.nii.gz"
        in page.locator('[data-testid="stSidebar"]').inner_text()
    )


def test_a_dicom_zip_shows_its_series_steps_overlays_and_a_prediction(
    page: Any, dicom_zip: Path
) -> None:
    upload(page, dicom_zip)
    assert_steps_overlays_and_prediction(page, STEPS)
    text = panel(page).inner_text()
    assert 'series 2 ("T1_MPRAGE_SAG") chosen' in text
    shown = page.locator('[data-testid="stMain"]').inner_text().lower()
    assert [s for s in IDENTIFIER_STRINGS if s.lower() in shown] == []


def test_a_broken_dicom_zip_gives_one_clear_line(page: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    age = page.get_by_label("Age (years)", exact=True).input_value()
    upload(page, broken)
    shown = errors(page)
    assert len(shown) == 1, shown
    assert shown[0].startswith("broken.zip: ") and "\n" not in shown[0]
    assert exceptions(page) == []
    assert panel(page).count() == 0
    assert page.get_by_label("Age (years)", exact=True).input_value() == age
    assert page.wait_for_function(_PROBABILITIES, timeout=30_000).json_value()
