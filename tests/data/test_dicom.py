"""DICOM series -> NIfTI: dcm2niix and the SimpleITK fallback give the voxels and the
geometry of the volume that was written, the localizer beside it is named and left
out, identifiers never come out, and nothing is left in the temporary folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from pydicom.uid import generate_uid

from hyperfusion.data import dicom
from hyperfusion.data.nifti_io import load_mri
from hyperfusion.data.scan_input import read_scan
from hyperfusion.data.templates import load_template
from hyperfusion.errors import InvalidScanError

from .scans import (
    IDENTIFIER_STRINGS,
    localizer_acquisition,
    motion,
    moved,
    sagittal_acquisition,
    to_int16,
    write_dicom_series,
    zip_folder,
)

# DICOM stores positions and directions as decimal strings (rounded to 1e-6 here):
# dcm2niix rebuilds the affine from them, so it matches the written one to well
# under a thousandth of a millimetre.
AFFINE_ATOL_MM = 1e-3


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> dict[str, Path]:
    """A small oblique sagittal series (2.5 mm, 60 slices) of the moved 2 mm
    template beside a 3-slice localizer, as a folder and a zip, and its NIfTI."""
    folder = tmp_path_factory.mktemp("dicom")
    template = load_template(2)
    move = motion((5.0, 0.0, -3.0), 1.0, (4.0, -6.0, 8.0))
    acq = sagittal_acquisition((60, 72, 88), (2.5, 2.5, 2.5), (6.0, 0.0, 4.0))
    volume = to_int16(moved(template, move, acq.affine, acq.shape))
    scout = localizer_acquisition()
    study = generate_uid()
    series = folder / "series"
    write_dicom_series(series, volume, acq, 2, "T1 MPRAGE Doe", study)
    scout_volume = to_int16(moved(template, move, scout.affine, scout.shape))
    write_dicom_series(series, scout_volume, scout, 1, "localizer", study, False)
    nifti = folder / "t1.nii.gz"
    nib.Nifti1Image(volume, acq.affine).to_filename(nifti)
    return {"folder": series, "zip": zip_folder(series, folder / "s.zip"), "nii": nifti}


def _same_volume(a: nib.Nifti1Image, b: nib.Nifti1Image) -> None:
    assert a.shape == b.shape
    np.testing.assert_allclose(a.affine, b.affine, atol=AFFINE_ATOL_MM)
    np.testing.assert_array_equal(np.asarray(a.dataobj), np.asarray(b.dataobj))


def _no_identifiers(text: str) -> None:
    found = [s for s in IDENTIFIER_STRINGS if s.lower() in text.lower()]
    assert not found, found


def test_dcm2niix_gives_the_written_volume_and_names_the_choice(session, tmp_path):
    conversion = dicom.convert_dicom(session["folder"], tmp_path)
    assert conversion.converter == "dcm2niix"
    _same_volume(conversion.image, load_mri(session["nii"]))
    assert conversion.series.number == 2 and len(conversion.candidates) == 2
    assert conversion.reason.startswith('series 2 ("T1 MPRAGE") chosen')
    assert 'series 1 ("localizer"): 3 slices, not a 3D volume' in conversion.reason
    # "Doe" was in the description: the patient's name is scrubbed from it.
    _no_identifiers(repr(conversion) + conversion.reason)
    header = conversion.image.header
    for field in ("descrip", "aux_file", "intent_name", "db_name"):
        assert header[field].item() in (b"", "")
    assert len(header.extensions) == 0


def test_simpleitk_fallback_gives_the_same_volume(session, tmp_path, monkeypatch):
    def broken(folder: Path, out: Path) -> None:
        raise dicom._ConverterFailed("simulated: no dcm2niix")

    monkeypatch.setattr(dicom, "_run_dcm2niix", broken)
    conversion = dicom.convert_dicom(session["folder"], tmp_path)
    assert conversion.converter == "SimpleITK"
    _same_volume(conversion.image, load_mri(session["nii"]))
    assert conversion.series.number == 2
    _no_identifiers(repr(conversion) + conversion.reason)


@pytest.mark.parametrize("kind", ["zip", "zip bytes", "folder", "file list"])
def test_every_form_of_upload_reads_the_same_and_leaves_nothing(
    kind, session, tmp_path, monkeypatch
):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    source = {
        "zip": session["zip"],
        "zip bytes": session["zip"].read_bytes(),
        "folder": session["folder"],
        "file list": sorted(session["folder"].glob("*.dcm")),
    }[kind]
    loaded = read_scan(source)
    assert loaded.kind == "dicom" and loaded.dicom is not None
    _same_volume(loaded.image, load_mri(session["nii"]))
    assert list(scratch.iterdir()) == []  # the temporary folder is gone


def test_one_slice_is_refused_with_one_line(session):
    one = sorted(session["folder"].glob("s02_*.dcm"))[0]
    with pytest.raises(InvalidScanError) as info:
        read_scan(one.read_bytes())
    message = str(info.value)
    assert "\n" not in message and "not a 3D volume" in message
    _no_identifiers(message)


def test_header_identifiers_are_read_for_scrubbing_only(session):
    values = dicom.header_identifiers(sorted(session["folder"].glob("*.dcm")))
    assert "Doe^Jane" in values and "HF-PT-7731" in values and "20261115" in values


def test_a_zip_of_broken_dicom_files_is_one_clear_line(tmp_path):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(40):
            archive.writestr(f"Doe^Jane/IM{i:04d}", bytes(128) + b"DICM" + b"\xff" * 64)
    with pytest.raises(InvalidScanError) as info:
        read_scan(buffer.getvalue())
    message = str(info.value)
    assert "\n" not in message and "no DICOM image series" in message
    _no_identifiers(message)
