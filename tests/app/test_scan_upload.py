"""Any scan in, in the app: a DICOM zip runs its steps with a progress display and
shows them, the chosen series, the overlays and the figures, then a prediction; a
broken upload leaves one error line and the EHR; the exports carry the
preprocessing block and no identifier."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from hyperfusion import export
from hyperfusion.data.scan_input import read_scan
from hyperfusion.data.templates import load_template
from hyperfusion.prediction import Prediction
from hyperfusion.ui import downloads, scan_upload
from tests.app.conftest import APP, assert_clean, number_input, probabilities
from tests.data.scans import IDENTIFIER_STRINGS, write_moved_head_scan

AGE = "Age (years)"
SCAN_TIMEOUT = 300  # deepbet and the registration on a shared 2-core CPU
STEP_TITLES = (
    "DICOM series to NIfTI",
    "Brain extraction",
    "Bias-field correction (N4)",
    "Affine registration to MNI152",
)


@pytest.fixture(scope="module")
def dicom_scan(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The moved head with a skull shell as a zipped DICOM session (a sagittal
    series beside a localizer, fake identifiers in every header)."""
    return write_moved_head_scan(tmp_path_factory.mktemp("scan"))


def visible_text(at: AppTest) -> str:
    """Every text a user reads on the page (not the figures' data)."""
    parts: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [str(e.value) for e in at.title] + [str(e.value) for e in at.subheader]
    parts += [t.value.to_string() for t in at.table]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [e.label for e in at.expander]
    parts += [str(o) for s in at.selectbox for o in s.options]
    parts += [str(e.value) for e in at.sidebar.caption]
    parts += [c for image in at.get("image") for c in image.captions]
    return "\n".join(parts)


def identifiers_in(text: str) -> list[str]:
    return [s for s in IDENTIFIER_STRINGS if s.lower() in text.lower()]


def steps_markdown(at: AppTest) -> str:
    return next(m.value for m in at.markdown if STEP_TITLES[0] in m.value)


def figure_table(at: AppTest) -> pd.DataFrame:
    return next(t.value for t in at.table if "Figure" in t.value.columns)


def upload(at: AppTest, name: str, data: bytes, mime: str) -> AppTest:
    at.file_uploader(key="upload_widget").set_value((name, data, mime))
    return at.run()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_dicom_zip_shows_steps_and_figures_then_predicts(
    dicom_scan: Any, sent: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    scan_upload._store.clear()  # the steps run (and report progress) afresh
    shown: list[tuple[str, str]] = []  # (step, status) as the live status showed

    def step_line(step: Any, reason: str | None = None) -> str:
        shown.append((step.name, step.status))
        return line(step, reason)

    line = scan_upload.step_line
    monkeypatch.setattr(scan_upload, "step_line", step_line)
    at = AppTest.from_file(APP, default_timeout=SCAN_TIMEOUT).run()
    number_input(at, AGE).set_value(66).run()
    data = dicom_scan.zip_path.read_bytes()
    upload(at, "session.zip", data, "application/zip")
    assert_clean(at)
    assert shown[:8] == [  # live, then the panel's lines
        ("dicom", "running"),
        ("dicom", "ran"),
        ("brain_extraction", "running"),
        ("brain_extraction", "ran"),
        ("bias_correction", "running"),
        ("bias_correction", "skipped"),
        ("registration", "running"),
        ("registration", "ran"),
    ], shown
    sent_text = "\n".join(str(m) for m in sent if m.HasField("delta"))
    assert "Preprocessing session.zip" in sent_text  # the status box's label
    assert "Affine registration to MNI152: ran" in sent_text  # its progress bar
    subject = at.session_state["subject"]
    assert subject.startswith("upload:") and subject.endswith("-auto")
    assert at.session_state["ehr"]["AGE"] == 66
    steps = steps_markdown(at)
    ran, skipped = scan_upload.ICONS["ran"], scan_upload.ICONS["skipped"]
    for title in ("DICOM series to NIfTI", "Brain extraction", "Affine registration"):
        assert f"{ran} **{title}" in steps, steps
    assert f"{skipped} **Bias-field correction (N4)**: skipped" in steps
    series = next(i.value for i in at.info if i.value.startswith("DICOM: "))
    assert 'series 2 ("T1_MPRAGE_SAG") chosen' in series and "localizer" in series
    table = figure_table(at)
    for label in (
        "brain mask volume",
        "correlation with the template",
        "scale along x / y / z",
        "rotation",
        "rotation about x / y / z",
        "translation along x / y / z",
    ):
        assert label in set(table["Figure"]), table
    captions = [c for image in at.get("image") for c in image.captions]
    assert any("brain-mask outline" in c for c in captions), captions
    assert any("template's edges" in c for c in captions), captions
    assert sum(probabilities(at)) == pytest.approx(1, abs=1e-3)
    assert identifiers_in(visible_text(at)) == []
    # The exports of this prediction: the preprocessing block, no identifier.
    prepared = scan_upload.prepare(data, "auto")  # the stored one
    block = prepared.preprocessing.report.to_dict()
    from hyperfusion.ui import cached

    prediction = cached.get_engine().predict(prepared, at.session_state["ehr"])
    raw_json = export.prediction_json(prediction, {"AGE": 66}, "Upload", block)
    report = json.loads(raw_json)
    assert report["preprocessing"]["ran"] == [
        "dicom",
        "brain_extraction",
        "registration",
    ]
    names = {f["name"] for s in report["preprocessing"]["steps"] for f in s["figures"]}
    assert {"mask_volume_ml", "correlation", "scale_x", "rotation_deg"} <= names
    raw_csv = export.prediction_csv(prediction, {"AGE": 66}, "Upload", block)
    row = pd.read_csv(io.BytesIO(raw_csv)).iloc[0]
    assert row["preprocessing_ran"] == "dicom;brain_extraction;registration"
    assert row["registration_correlation"] >= 0.9
    assert row["preprocessing_series"] == 2
    for raw in (raw_json, raw_csv):
        assert identifiers_in(raw.decode("utf-8")) == []


def _zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("broken.zip", b"PK\x03\x04" + bytes(range(256)) * 4),  # truncated
        ("notes.zip", _zip_of({"DICOM/readme.txt": b"no images here\n" * 10})),
    ],
)
def test_a_broken_dicom_zip_gives_one_error_line_and_keeps_the_ehr(
    app: AppTest, name: str, data: bytes
) -> None:
    number_input(app, AGE).set_value(66).run()
    subject, ehr = app.session_state["subject"], dict(app.session_state["ehr"])
    upload(app, name, data, "application/zip")
    assert not app.exception
    assert len(app.error) == 1, [e.value for e in app.error]
    message = app.error[0].value
    assert message.startswith(f"{name}: ") and "\n" not in message
    assert app.session_state["subject"] == subject
    assert app.session_state["ehr"] == ehr
    assert not [e for e in app.expander if "Preprocessing" in e.label]
    assert probabilities(app)  # the page stays usable


def test_several_files_must_all_be_dicom(app: AppTest) -> None:
    subject = app.session_state["subject"]
    app.file_uploader(key="upload_widget").set_value(
        [("a.dcm", b"x" * 300, "application/dicom"), ("b.nii", b"y", "")]
    )
    app.run()
    assert not app.exception
    assert len(app.error) == 1 and "only the .dcm files" in app.error[0].value
    assert app.session_state["subject"] == subject


def test_several_dcm_files_are_read_as_one_series(dicom_scan: Any) -> None:
    files = [(p.name, p.read_bytes()) for p in sorted(dicom_scan.folder.iterdir())]
    name, data = scan_upload.upload_payload(files)
    assert name == f"{len(files)} DICOM files"
    loaded = read_scan(data)
    assert loaded.kind == "dicom" and loaded.dicom.series.number == 2


@pytest.mark.slow
def test_changing_the_mode_preprocesses_the_upload_again_and_keeps_the_ehr() -> None:
    at = AppTest.from_file(APP, default_timeout=SCAN_TIMEOUT).run()
    number_input(at, AGE).set_value(66).run()
    data = gzip.compress(load_template(2).to_bytes(), mtime=0)
    upload(at, "mni_2mm.nii.gz", data, "application/gzip")
    assert_clean(at)
    assert at.session_state["subject"].endswith("-auto")
    steps = steps_markdown(at)
    skipped = scan_upload.ICONS["skipped"]
    assert f"{skipped} **Brain extraction**: skipped" in steps  # in the contract
    assert f"{skipped} **Affine registration to MNI152**: skipped" in steps
    at.radio(key=scan_upload.MODE_WIDGET).set_value("none").run()
    assert_clean(at)
    assert at.session_state["subject"].endswith("-none")
    assert at.session_state["upload"]["name"] == "mni_2mm.nii.gz"
    assert at.session_state["ehr"]["AGE"] == 66
    assert "preprocessing is off" in steps_markdown(at)
    assert probabilities(at)


def _prediction() -> Prediction:
    return Prediction(
        probabilities={"CN": 0.2, "MCI": 0.5, "AD": 0.3},
        probabilities_sd={"CN": 0.01, "MCI": 0.02, "AD": 0.03},
        brain_age=77.5,
        brain_age_sd=1.5,
        age=74.0,
        ad_model="hyperfusion",
        brain_age_model="hyperfusion",
        n_seeds={"ad": 3, "brain-age": 3},
        trained=True,
        device="CPU",
        latency_ms=0.8,
    )


@dataclasses.dataclass(frozen=True)
class _Prepared:
    qc: Any
    preprocessing: Any


class _Column:
    def __init__(self, buttons: list[dict]) -> None:
        self.buttons = buttons

    def download_button(self, label: str, data: Any, **kwargs: Any) -> None:
        self.buttons.append({"label": label, "data": data, **kwargs})


def test_the_downloads_pass_the_preprocessing_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """prediction_downloads with a stubbed session: both files carry the block."""
    buttons: list[dict] = []
    block = {
        "mode": "auto",
        "steps": [
            {
                "name": "registration",
                "status": "ran",
                "seconds": 1.5,
                "figures": [{"name": "correlation", "value": 0.97, "ok": True}],
            }
        ],
        "ran": ["registration"],
        "series": None,
        "warnings": [],
    }
    report = SimpleNamespace(to_dict=lambda: block)
    image = SimpleNamespace(preprocessing=SimpleNamespace(report=report))
    fake_st = SimpleNamespace(columns=lambda n: (_Column(buttons), _Column(buttons)))
    monkeypatch.setattr(downloads, "st", fake_st)
    monkeypatch.setattr(downloads.cached, "current_image", lambda: image)
    monkeypatch.setattr(downloads.state, "current_ehr", lambda: {"AGE": 70.0})
    monkeypatch.setattr(downloads.state, "subject_label", lambda: "Upload: a.zip")
    monkeypatch.setattr(downloads.state, "file_stem", lambda: "hyperfusion_x")
    downloads.prediction_downloads(_prediction())
    made = {b["file_name"]: b["data"]() for b in buttons}
    report_json = json.loads(made["hyperfusion_x_prediction.json"])
    assert report_json["preprocessing"] == block
    row = pd.read_csv(io.BytesIO(made["hyperfusion_x_prediction.csv"])).iloc[0]
    assert row["registration_correlation"] == pytest.approx(0.97)
    assert row["preprocessing_ran"] == "registration"


def test_an_example_exports_no_preprocessing_block() -> None:
    report = export.prediction_report(_prediction(), {}, "S01")
    assert report["preprocessing"] is None
    assert "preprocessing_mode" not in export.prediction_csv(
        _prediction(), {}, "S01"
    ).decode("utf-8")


def test_options_round_trip() -> None:
    for mode in scan_upload.MODES:
        for bias in (False, True):
            assert scan_upload.parse_options(scan_upload.options_key(mode, bias)) == (
                mode,
                bias,
            )
    assert scan_upload.parse_options("") == ("auto", False)


def test_pack_dicom_numbers_the_files(tmp_path: Path) -> None:
    data = scan_upload.pack_dicom([("x.dcm", b"1"), ("x.dcm", b"2")])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["dicom/00000.dcm", "dicom/00001.dcm"]


def test_an_implausible_figure_is_flagged_and_joins_the_qc_warnings() -> None:
    from hyperfusion.data.preprocess_report import (
        PreprocessReport,
        StepReport,
        registration_figures,
    )
    from hyperfusion.data.qc import QCReport
    from hyperfusion.ui import scan_qc

    mirrored = np.diag([-1.0, 1.3, 1.0, 1.0])  # a mirror image, stretched
    step = StepReport(
        "registration", "ran", "asked", 1.0, registration_figures(mirrored, 0.5)
    )
    report = PreprocessReport("full", (step,))
    table = scan_qc.figure_rows(report)
    flagged = set(table.loc[table["Check"] == scan_qc.FLAG, "Figure"])
    assert flagged == {
        "correlation with the template",
        "scale along x / y / z",
        "determinant",
    }
    assert table["Step"].tolist()[0] == "Affine registration to MNI152"
    assert set(table["Step"].tolist()[1:]) == {""}
    plain = _Prepared(QCReport(True, (), {}), SimpleNamespace(report=report))
    prepared = scan_upload._with_warnings(plain)
    assert not prepared.qc.ok
    assert prepared.qc.warnings == report.warnings and len(report.warnings) == 3
