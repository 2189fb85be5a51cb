"""Patient privacy: header text never reaches a page, an export or a log.

A NIfTI whose ``descrip``, ``aux_file``, ``intent_name``, ``db_name`` and a comment
extension carry marker strings, and a zipped DICOM series whose patient name, IDs,
dates, accession number, institution, physicians, address and descriptions carry
them (the series description and protocol name also hold the patient's name and a
date, which the report must scrub), go through:

- the app (AppTest): the upload, then every page; every message sent to the
  browser is kept, every download button's bytes are made;
- the command line: ``predict --json`` and ``explain --out``;
- :mod:`hyperfusion.export` given an image whose header still carries the text;

while every log record (all loggers at DEBUG), every Python warning and everything
written to stdout / stderr (file descriptors included) is captured. No marker may
appear anywhere, gzip streams decompressed first; the temporary folder a DICOM zip
is unpacked in is gone once the upload is read. Both scans are the 2 mm MNI152
template, so ``auto`` preprocessing skips brain extraction and registration.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from hyperfusion import export
from hyperfusion.cli import main
from hyperfusion.data.templates import load_template
from tests.app.conftest import APP, PATIENT, assert_clean, probabilities
from tests.data.scans import new_dataset, set_pixels

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

TIMEOUT = 300  # the first run loads the models; the pages on a shared 2-core CPU
# Every marker starts with this: case-insensitive, it also catches a marker cut or
# re-spelled ("Qzvmarkname Qzvmarkgiven"); 7 letters, so a chance hit inside base64
# figure data is negligible.
PREFIX = "QZVMARK"
NIFTI_TEXT = {
    "descrip": "QZVMARKDESCRIP",
    "aux_file": "QZVMARKAUXFILE",
    "intent_name": "QZVMARKINTENT",
    "db_name": "QZVMARKDBNAME",
}
NIFTI_EXTENSION = b"QZVMARKEXTENSION patient Qzvmarkname"
DICOM_TEXT = {
    "PatientName": "Qzvmarkname^Qzvmarkgiven",
    "PatientID": "QZVMARK-PID-4821",
    "OtherPatientIDs": "QZVMARK-OPID-4822",
    "IssuerOfPatientID": "QZVMARKISSUER",
    "PatientAddress": "QZVMARK street 9",
    "AccessionNumber": "QZVMARKACC",
    "StudyID": "QZVMARKSTUDY",
    "InstitutionName": "QZVMARK Institute",
    "InstitutionAddress": "QZVMARK avenue 1",
    "ReferringPhysicianName": "Qzvmarkref^Doc",
    "PerformingPhysicianName": "Qzvmarkperf^Doc",
    "OperatorsName": "Qzvmarkop^Tech",
    "StudyDescription": "QZVMARK study",
    "PatientComments": "QZVMARK comment",
}
DICOM_DATES = {
    "PatientBirthDate": "19370411",
    "StudyDate": "20310517",
    "SeriesDate": "20310518",
    "AcquisitionDate": "20310519",
    "ContentDate": "20310520",
}
# Shown on purpose (the chosen series), so only its identifying words must go.
SERIES_DESCRIPTION = "T1_AX Qzvmarkname 20310517"
PROTOCOL_NAME = "T1 protocol Qzvmarkgiven"


def _date_forms(date: str) -> list[str]:
    """``"20310517"``, ``"2031-05-17"``, ``"2031/05/17"``, ``"17.05.2031"``."""
    y, m, d = date[:4], date[4:6], date[6:]
    return [date, f"{y}-{m}-{d}", f"{y}/{m}/{d}", f"{d}.{m}.{y}"]


MARKERS = (PREFIX, *(f for d in DICOM_DATES.values() for f in _date_forms(d)))


def markers_in(data: bytes | str) -> list[str]:
    """The markers found in text or bytes (gzip streams decompressed first)."""
    if isinstance(data, bytes):
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        data = data.decode("latin-1")
    low = data.lower()
    return [m for m in MARKERS if m.lower() in low]


# The scans ---------------------------------------------------------------------------


def marked_nifti() -> nib.Nifti1Image:
    """The 2 mm MNI152 template with a marker in every header text field and in a
    comment extension."""
    template = load_template(2)
    img = nib.Nifti1Image(np.asarray(template.dataobj, np.float32), template.affine)
    for name, text in NIFTI_TEXT.items():
        img.header[name] = text.encode()
    img.header.extensions.append(nib.nifti1.Nifti1Extension(6, NIFTI_EXTENSION))
    return img


def _slice(pixels: np.ndarray, k: int, first_lps: np.ndarray, uids: tuple) -> Any:
    from pydicom.uid import MRImageStorage

    ds = new_dataset(MRImageStorage, {**DICOM_TEXT, **DICOM_DATES})
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = uids
    ds.Modality, ds.Manufacturer, ds.PatientPosition = "MR", "HyperFusion test", "HFS"
    ds.SeriesNumber, ds.InstanceNumber = 3, k + 1
    ds.SeriesDescription, ds.ProtocolName = SERIES_DESCRIPTION, PROTOCOL_NAME
    ds.MRAcquisitionType, ds.RepetitionTime, ds.EchoTime = "3D", "2300", "2.98"
    ds.ImagePositionPatient = [f"{v:g}" for v in first_lps + [0.0, 0.0, 2.0 * k]]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing, ds.SliceThickness, ds.SpacingBetweenSlices = ["2", "2"], "2", "2"
    set_pixels(ds, pixels)
    return ds


def marked_dicom_zip() -> bytes:
    """The 2 mm template as an axial DICOM series (LPS: columns run left, rows
    posterior, slices superior) with markers in every identifying field, zipped."""
    from pydicom.uid import generate_uid

    template = load_template(2)
    vol = np.asarray(template.dataobj, np.float32)
    peak = float(vol.max()) or 1.0
    scaled = np.clip(np.round(vol / peak * 3000), 0, 32767).astype(np.int16)
    nx, ny, _ = vol.shape
    corner = template.affine @ [nx - 1, ny - 1, 0, 1]  # RAS of row 0, column 0
    first_lps = np.array([-corner[0], -corner[1], corner[2]])
    uids = (generate_uid(), generate_uid(), generate_uid())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for k in range(vol.shape[2]):
            pixels = scaled[::-1, ::-1, k].T  # [row (posterior), column (left)]
            ds = _slice(pixels, k, first_lps, uids)
            out = io.BytesIO()
            ds.save_as(out, enforce_file_format=True)
            archive.writestr(f"DICOM/IM{k:04d}.dcm", out.getvalue())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The marked NIfTI (.nii.gz) and DICOM zip on disk; both checked to carry
    the markers (else the test would prove nothing)."""
    folder = tmp_path_factory.mktemp("marked")
    nifti = folder / "scan.nii.gz"
    marked_nifti().to_filename(nifti)
    dicom = folder / "scan.zip"
    dicom.write_bytes(marked_dicom_zip())
    assert set(markers_in(nifti.read_bytes())) == {PREFIX}
    with zipfile.ZipFile(dicom) as archive:
        first = archive.read(archive.namelist()[0]).decode("latin-1")
    assert all(v.split("^")[0] in first for v in DICOM_TEXT.values())
    assert all(d in first for d in DICOM_DATES.values())
    return {"nifti": nifti, "dicom": dicom}


# What the session leaves behind ------------------------------------------------------


class Captured:
    """Every log record (formatted, with its traceback) and every warning."""

    def __init__(self) -> None:
        self.records: list[str] = []
        self.warnings: list[str] = []

    def text(self) -> str:
        return "\n".join(self.records + self.warnings)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    """Every logger at DEBUG, each record formatted as a handler would write it,
    and every warning shown (``always``)."""
    found = Captured()
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    handle = logging.Logger.handle

    def recording(self: logging.Logger, record: logging.LogRecord) -> None:
        found.records.append(formatter.format(record))
        handle(self, record)

    monkeypatch.setattr(logging.Logger, "handle", recording)
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    levels = {lg: lg.level for lg in loggers if isinstance(lg, logging.Logger)}
    for logger in levels:
        logger.setLevel(logging.DEBUG)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        yield found
        found.warnings = [f"{w.category.__name__}: {w.message}" for w in shown]
    for logger, level in levels.items():
        logger.setLevel(level)


class Sent:
    """Every ForwardMsg of every AppTest run, and every download button's data."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.downloads: list[tuple[str, Any]] = []

    def download_bytes(self) -> dict[str, bytes]:
        """Each download's bytes (a callable's made now, as a click would)."""
        out = {}
        for label, data in self.downloads:
            made = data() if callable(data) else data
            out[label] = made.encode() if isinstance(made, str) else bytes(made)
        return out


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    import streamlit
    from streamlit.delta_generator import DeltaGenerator
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    found = Sent()
    forward_msgs = LocalScriptRunner.forward_msgs
    download = DeltaGenerator.download_button

    def keep_msgs(self: LocalScriptRunner) -> list[Any]:
        msgs = forward_msgs(self)
        found.messages.extend(msgs)
        return msgs

    def keep_download(self: Any, label: str, data: Any, *args: Any, **kw: Any) -> Any:
        found.downloads.append((label, data))
        return download(self, label, data, *args, **kw)

    monkeypatch.setattr(LocalScriptRunner, "forward_msgs", keep_msgs)
    monkeypatch.setattr(DeltaGenerator, "download_button", keep_download)
    main_dg = streamlit._main  # st.download_button is bound to it at import
    monkeypatch.setattr(
        streamlit, "download_button", lambda *a, **kw: keep_download(main_dg, *a, **kw)
    )
    return found


# The tests --------------------------------------------------------------------------

PAGES = (
    "pages/1_Explain.py",
    "pages/2_Hypernetwork.py",
    "pages/3_What_if.py",
    "pages/4_Fusion_strategies.py",
    "pages/5_Model_card.py",
)


def _visit_every_page(at: AppTest) -> list[str]:
    """Switch on the Patient page's Grad-CAM overlay, then visit every page; the
    titles seen."""
    at.toggle(key="patient_cam").set_value(True).run()
    assert_clean(at)
    titles = [at.title[0].value]
    for script in PAGES:
        at.switch_page(script).run()
        assert not at.exception, (script, [e.value for e in at.exception])
        titles.append(at.title[0].value)
    at.switch_page(PATIENT).run()
    return titles


@pytest.mark.parametrize(
    ("kind", "mime"), [("nifti", "application/gzip"), ("dicom", "application/zip")]
)
def test_header_text_never_reaches_a_page_a_download_or_a_log(
    kind: str,
    mime: str,
    scans: dict[str, Path],
    sent: Sent,
    captured: Captured,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hyperfusion.ui import scan_upload

    scan_upload._store.clear()  # preprocessed afresh, its steps shown
    temporary = tmp_path / "tmp"  # every temporary folder of the session
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    made: list[str] = []
    folder = tempfile.TemporaryDirectory

    def watched(*args: Any, **kwargs: Any) -> Any:
        made.append("folder")
        return folder(*args, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryDirectory", watched)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    path = scans[kind]
    at.file_uploader(key="upload_widget").set_value(
        (path.name, path.read_bytes(), mime)
    )
    at.run()
    assert_clean(at)
    assert at.session_state["subject"].startswith("upload:")  # the scan is in use
    assert sum(probabilities(at)) == pytest.approx(1, abs=1e-3)
    titles = _visit_every_page(at)
    assert len(titles) == len(PAGES) + 1

    shown = "\n".join(str(m) for m in sent.messages)
    assert f"Upload: {path.name}" in shown  # the messages were captured
    if kind == "dicom":
        assert "T1_AX" in shown  # the chosen series' scrubbed description
    assert markers_in(shown) == []
    files = sent.download_bytes()
    labels = " | ".join(files)
    assert "JSON" in labels and "CSV" in labels and "NIfTI" in labels, labels
    assert {label: markers_in(data) for label, data in files.items()} == {
        label: [] for label in files
    }
    # The DICOM was unpacked in a temporary folder, removed at once.
    if kind == "dicom":
        assert made
    assert list(temporary.iterdir()) == []
    out, err = capfd.readouterr()
    assert captured.records, "no log record was captured"
    assert markers_in(captured.text()) == []
    assert markers_in(out) == [] and markers_in(err) == []


@pytest.mark.parametrize("kind", ["nifti", "dicom"])
def test_the_command_line_prints_and_writes_no_header_text(
    kind: str,
    scans: dict[str, Path],
    tmp_path: Path,
    captured: Captured,
    capfd: pytest.CaptureFixture[str],
) -> None:
    scan = str(scans[kind])
    assert main(["predict", "--mri", scan, "--json", "--device", "cpu"]) == 0
    out, err = capfd.readouterr()
    ran = json.loads(out)["preprocessing"]["ran"]
    assert ran == (["dicom"] if kind == "dicom" else [])  # the scan was read
    assert markers_in(out) == [] and markers_in(err) == []
    assert main(["predict", "--mri", scan, "--device", "cpu"]) == 0  # as text
    out_map = tmp_path / "map.nii.gz"
    argv = ["explain", "--mri", scan, "--target", "AD", "--out", str(out_map)]
    assert main([*argv, "--device", "cpu"]) == 0
    out, err = capfd.readouterr()
    assert "Brain age" in out
    assert markers_in(out) == [] and markers_in(err) == []
    assert markers_in(out_map.read_bytes()) == []
    assert markers_in(captured.text()) == []


def test_exports_clear_header_text_they_are_given() -> None:
    """Even an image that still carries header text is exported without it."""
    from hyperfusion.explain.maps import ExplanationMap

    img = marked_nifti()
    assert markers_in(img.to_bytes()) == [PREFIX]
    data = export.nifti_gz_bytes(img, "HyperFusion map")
    assert markers_in(data) == []
    back = nib.Nifti1Image.from_bytes(gzip.decompress(data))
    assert back.header["descrip"].item() == b"HyperFusion map"
    assert len(back.header.extensions) == 0
    volume = np.zeros((2, 2, 2), np.float32)
    found = ExplanationMap("hirescam", "AD", volume, "share of peak", False, "x")
    assert markers_in(export.explanation_nifti(img, found, "map.nii")) == []
