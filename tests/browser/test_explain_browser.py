"""The Explain page in a real browser: the default map first with the quality table
beside it, a switch to Grad-CAM (one click, its number on the button), and each
map downloaded as NIfTI in the input's own space."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest

from hyperfusion.data.examples import EXAMPLES_DIR, list_examples
from tests.browser.conftest import errors, exceptions, go_to, rerun

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

EXPLAIN = "Explain"
METHOD_BUTTONS = '[data-testid="stButtonGroup"] button'

# The colour bar titles of the drawn slice viewers (hyperfusion.viz.slices).
_BAR_TITLES = """() => Array.from(
  document.querySelectorAll('.hf-slices .hf-colour-bar'),
  (bar) => bar.firstElementChild.innerText.trim()).filter(Boolean)"""


def _method(page: Any, starts: str) -> Any:
    buttons = page.locator(METHOD_BUTTONS)
    return next(b for b in buttons.all() if b.inner_text().strip().startswith(starts))


def _download(page: Any, starts: str, tmp_path: Path) -> nib.Nifti1Image:
    button = page.locator('[data-testid="stDownloadButton"] button').filter(
        has_text=starts
    )
    with page.expect_download() as info:
        button.first.click()
    data = Path(info.value.path()).read_bytes()
    name = info.value.suggested_filename
    assert name.endswith(".nii.gz")
    path = tmp_path / name.replace(".nii.gz", ".nii")
    path.write_bytes(gzip.decompress(data))  # .nii.gz bytes
    return nib.load(path)


def test_maps_switch_show_their_quality_and_download(page: Any, tmp_path: Path):
    go_to(page, EXPLAIN)
    assert exceptions(page) == [] and errors(page) == []
    labels = [b.inner_text().strip() for b in page.locator(METHOD_BUTTONS).all()]
    methods = [lab for lab in labels if "×" in lab or "(fails)" in lab]
    assert methods and not methods[0].startswith("Grad-CAM")  # the default first
    assert any(lab.startswith("Grad-CAM (fails)") for lab in methods)
    assert page.locator('[data-testid="stDataFrame"]').count() >= 2  # quality table
    first = page.evaluate(_BAR_TITLES)[0]
    first_example = list_examples()["PTID"].iloc[0]  # the default subject
    example = nib.load(EXAMPLES_DIR / f"{first_example}.nii.gz")
    shipped = _download(page, first.split(":")[0], tmp_path)
    assert shipped.shape == example.shape
    np.testing.assert_allclose(shipped.affine, example.affine)
    with rerun(page):
        _method(page, "Grad-CAM (fails)").click()
    assert exceptions(page) == []
    assert page.evaluate(_BAR_TITLES)[0].startswith("Grad-CAM:")
    grad_cam = _download(page, "Grad-CAM", tmp_path)
    np.testing.assert_allclose(grad_cam.affine, example.affine)
