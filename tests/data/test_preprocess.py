"""The preprocessing pipeline: modes, the report, progress, and inputs already in
the contract passing ``auto`` unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from hyperfusion.data.nifti_io import load_mri
from hyperfusion.data.preprocess import MODES, preprocess_scan
from hyperfusion.data.preprocess_report import STEP_TITLES, StepReport
from hyperfusion.data.templates import load_template
from hyperfusion.errors import PreprocessingError

from .scans import moved_template

EXAMPLES = sorted((Path(__file__).parents[2] / "assets" / "examples").glob("*.nii.gz"))


def _contract_inputs() -> dict[str, object]:
    inputs: dict[str, object] = {
        "template 1 mm": load_template(1),
        "template 2 mm": load_template(2),
    }
    inputs.update({p.name: p for p in EXAMPLES})
    return inputs


@pytest.mark.parametrize("name", sorted(_contract_inputs()))
def test_an_aligned_stripped_input_passes_auto_unchanged(name):
    """The template and every bundled cohort subject (rendered in MNI152 space,
    stripped; correlations with the template 0.69-1.0) skip every step, and the
    image is exactly what ``load_mri`` gives, so predictions do not move."""
    source = _contract_inputs()[name]
    result = preprocess_scan(source, "auto")
    assert [s.status for s in result.report.steps] == ["skipped"] * 4
    assert result.report.to_dict()["ran"] == []
    expected = load_mri(source)
    np.testing.assert_array_equal(
        np.asarray(result.image.dataobj), np.asarray(expected.dataobj)
    )
    np.testing.assert_array_equal(result.image.affine, expected.affine)
    assert result.template_to_input is None and result.mask is None
    assert result.report.warnings == ()
    extraction = result.report.step("brain_extraction").reason
    assert extraction.startswith("already skull-stripped")
    assert result.report.step("registration").reason.startswith("already in MNI152")


def test_mode_none_only_reads_the_file():
    scan = moved_template()
    result = preprocess_scan(scan, "none")
    assert [s.status for s in result.report.steps] == ["skipped"] * 4
    assert all("mode none" in s.reason for s in result.report.steps[1:])
    np.testing.assert_array_equal(
        np.asarray(result.image.dataobj), np.asarray(load_mri(scan).dataobj)
    )


def test_an_unknown_mode_or_grid_is_one_line():
    with pytest.raises(PreprocessingError, match="auto, none or full is accepted"):
        preprocess_scan(load_template(2), "fast")  # type: ignore[arg-type]
    with pytest.raises(PreprocessingError, match="1 or 2 mm"):
        preprocess_scan(load_template(2), "auto", resolution=3)
    assert MODES == ("auto", "none", "full")


def test_progress_hears_each_step_start_and_end_in_order():
    events: list[StepReport] = []
    result = preprocess_scan(load_template(2), "auto", progress=events.append)
    names = list(STEP_TITLES)
    assert [(e.name, e.status) for e in events] == [
        (name, status) for name in names for status in ("running", "skipped")
    ]
    assert [e for e in events if e.status != "running"] == list(result.report.steps)
    assert all(e.seconds >= 0 for e in events)


def test_the_report_is_json_with_titles_reasons_and_figures():
    report = preprocess_scan(load_template(2), "auto").report.to_dict()
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text)["mode"] == "auto"
    step = report["steps"][3]
    assert step["title"] == "Affine registration to MNI152"
    assert {f["name"] for f in step["figures"]} == {
        "correlation_before",
        "centre_offset_mm",
    }


@pytest.mark.slow
def test_full_runs_every_step_on_an_aligned_brain():
    """Mode full extracts and registers even an input in the contract; the
    template comes back where it was (correlation >= 0.95, scales within 2 %)."""
    result = preprocess_scan(load_template(2), "full", resolution=2, device="cpu")
    assert result.report.to_dict()["ran"] == ["brain_extraction", "registration"]
    figures = {f.name: f.value for f in result.report.step("registration").figures}
    assert figures["correlation"] >= 0.95
    assert all(abs(figures[f"scale_{a}"] - 1) < 0.02 for a in "xyz")
    assert result.image.shape == load_template(2).shape
    assert "mode full" in result.report.step("registration").reason


@pytest.mark.slow
def test_bias_correction_flattens_a_smooth_field():
    """N4 (asked for) removes most of a +-15 % left-right field from the 2 mm
    template: the log-ratio to the clean template shrinks by at least half."""
    template = load_template(2)
    data = np.asarray(template.dataobj, dtype=np.float32)
    x = np.linspace(-1.0, 1.0, data.shape[0])[:, None, None]
    field = np.exp(0.15 * x).astype(np.float32)
    biased = nib.Nifti1Image(data * field, template.affine)
    result = preprocess_scan(biased, "auto", bias_correction=True)
    assert result.report.step("bias_correction").ran
    brain = data > 0.1
    out = np.asarray(result.image.dataobj)
    # N4's field has an arbitrary overall scale: compare spreads of log-ratios.
    residual = np.log(out[brain] / data[brain])
    applied = np.log(np.broadcast_to(field, data.shape)[brain])
    assert np.std(residual) <= 0.5 * np.std(applied)


def test_nifti_text_fields_never_reach_the_result_or_the_report():
    template = load_template(2)
    img = nib.Nifti1Image(np.asarray(template.dataobj), template.affine)
    for field_name in ("descrip", "aux_file", "intent_name", "db_name"):
        img.header[field_name] = b"Doe^Jane"
    result = preprocess_scan(img, "auto")
    for out in (result.image, result.original):
        assert b"Doe" not in out.header.binaryblock
    assert "Doe" not in json.dumps(result.report.to_dict())
