"""Faults outside the user's input: a weights file missing, truncated or tampered
with, an unwritable temporary folder, a model that raises in the middle of a
request. The engine and the command line refuse in one line; the app names the
problem in one line where it is used and every other page keeps working."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from hyperfusion.cli import main
from hyperfusion.errors import TemporaryFolderError, WeightsError
from hyperfusion.models.checkpoint import WEIGHTS_DIR
from tests.app.conftest import APP, PATIENT, TIMEOUT, number_input, probabilities
from tests.hostile.conftest import Sandbox
from tests.hostile.corpus import BY_NAME

AGE = "Age (years)"
BROKEN = "daft-seed0"  # the AD baseline whose weights file the faults break
FUSION, MODEL_CARD = "pages/4_Fusion_strategies.py", "pages/5_Model_card.py"


def _break(weights: Path, kind: str) -> None:
    target = weights / "ad" / f"{BROKEN}.safetensors"
    data = target.read_bytes()
    target.unlink()  # a link to the shipped file: replaced, never written through
    if kind == "truncated":
        target.write_bytes(data[: len(data) // 2])
    elif kind == "tampered":
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0xFF
        target.write_bytes(bytes(flipped))


@pytest.fixture(params=["missing", "truncated", "tampered"])
def weights(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The shipped weights, linked file by file (nothing copied or changed), with
    one weights file of the AD baseline ``daft`` broken as the param says."""
    if not (WEIGHTS_DIR / "ad" / f"{BROKEN}.json").is_file():
        pytest.skip(f"no shipped {BROKEN} checkpoint to break")
    linked = tmp_path / "weights"
    for source in WEIGHTS_DIR.rglob("*"):
        if source.is_file():
            target = linked / source.relative_to(WEIGHTS_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source)
    _break(linked, request.param)
    return linked


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """The app's caches (the engine, images, maps) emptied before and after, so
    that the engine a test builds is the one the pages use, and only there."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def _one_line_naming(message: str, name: str) -> None:
    assert "\n" not in message and name in message and "Traceback" not in message


def _errors(at: AppTest) -> list[str]:
    assert not at.exception, [e.value for e in at.exception]
    return [e.value for e in at.error]


@pytest.mark.slow
def test_a_broken_weights_file_is_refused_in_one_line_and_only_that_model(
    weights: Path,
) -> None:
    from hyperfusion.data.examples import example_image_bytes, list_examples
    from hyperfusion.engine import Engine

    engine = Engine(device="cpu", weights_dir=weights)
    with pytest.raises(WeightsError) as info:
        engine.checkpoints("ad", "daft")
    _one_line_naming(str(info.value), BROKEN)
    image = engine.prepare(example_image_bytes(str(list_examples()["PTID"][0])))
    record = {"AGE": 70, "PTGENDER": "Female"}
    assert sum(engine.predict(image, record).probabilities.values()) == (
        pytest.approx(1, abs=1e-3)
    )


@pytest.mark.slow
def test_the_cli_refuses_the_broken_model_in_one_line(
    weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch
) -> None:
    from hyperfusion.engine import Engine

    monkeypatch.setattr(
        "hyperfusion.engine.Engine", functools.partial(Engine, weights_dir=weights)
    )
    scan = tmp_path / "scan.nii.gz"
    scan.write_bytes(BY_NAME["LAS orientation"].data())
    argv = ["predict", "--mri", str(scan), "--preprocess", "none", "--task", "ad"]
    assert main([*argv, "--model", "daft"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ")
    _one_line_naming(captured.err.strip(), BROKEN)


def test_the_app_names_the_broken_model_where_it_is_used(
    weights: Path, fresh_caches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hyperfusion.engine import Engine

    monkeypatch.setattr(
        "hyperfusion.engine.Engine", functools.partial(Engine, weights_dir=weights)
    )
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert _errors(at) == [] and probabilities(at)  # HyperFusion is not broken
    number_input(at, AGE).set_value(66).run()
    at.switch_page(FUSION).run()
    shown = _errors(at)
    assert shown and all("\n" not in e for e in shown), shown
    assert any(BROKEN in e for e in shown), shown
    at.switch_page(PATIENT).run()  # the other pages keep working
    assert _errors(at) == [] and probabilities(at)
    assert at.session_state["ehr"]["AGE"] == 66


# The temporary folder --------------------------------------------------------------


@pytest.fixture
def no_temp(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder points at a regular file: nothing can be made in it."""
    for name in ("mixed DICOM series", "LAS orientation"):
        BY_NAME[name].data()  # built while the temporary folder still works
    broken = sandbox.inputs / "not-a-folder"
    broken.write_bytes(b"x")
    monkeypatch.setattr(tempfile, "tempdir", str(broken))
    return broken


def test_an_unwritable_temporary_folder_refuses_a_zip_and_not_a_nifti(
    no_temp: Path,
) -> None:
    from hyperfusion.data.scan_input import read_scan

    with pytest.raises(TemporaryFolderError) as info:
        read_scan(BY_NAME["mixed DICOM series"].data())
    _one_line_naming(str(info.value), str(no_temp))
    assert "TMPDIR" in str(info.value)
    assert read_scan(BY_NAME["LAS orientation"].data()).kind == "nifti"


def test_the_cli_says_the_temporary_folder_cannot_be_written(
    no_temp: Path, sandbox: Sandbox, capsys: pytest.CaptureFixture
) -> None:
    path = sandbox.write(BY_NAME["mixed DICOM series"])
    assert main(["predict", "--mri", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "TMPDIR" in err
    _one_line_naming(err.strip(), str(no_temp))


def test_the_app_says_the_temporary_folder_cannot_be_written(no_temp: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.radio(key="preprocess_mode").set_value("none").run()
    number_input(at, AGE).set_value(66).run()
    for name in ("mixed DICOM series", "LAS orientation"):
        case = BY_NAME[name]
        uploader = at.file_uploader(key="upload_widget")
        uploader.set_value((case.filename, case.data(), "application/octet-stream"))
        at.run()
        shown = _errors(at)
        if name == "mixed DICOM series":
            (message,) = shown
            assert message.startswith("session.zip: ") and "TMPDIR" in message
            _one_line_naming(message, str(no_temp))
        else:  # a NIfTI needs no temporary folder
            assert shown == [] and at.session_state["subject"].startswith("upload:")
        assert at.session_state["ehr"]["AGE"] == 66 and probabilities(at)
    at.switch_page(MODEL_CARD).run()
    assert _errors(at) == []


# A model that raises in the middle of a request ------------------------------------


def test_a_model_that_raises_is_one_line_and_the_other_pages_keep_working(
    fresh_caches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hyperfusion.models.nets.base import FusionNet

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    number_input(at, AGE).set_value(66).run()
    before = probabilities(at)

    def raising(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated fault inside the model")

    with monkeypatch.context() as patch:
        patch.setattr(FusionNet, "fuse_records", raising)
        at.run()
        (message,) = _errors(at)
        _one_line_naming(message, "RuntimeError")
        assert "simulated" not in message  # no internals on the page
        assert at.session_state["ehr"]["AGE"] == 66
        at.switch_page(MODEL_CARD).run()
        assert _errors(at) == []
    at.switch_page(PATIENT).run()  # the fault is gone: so is the error
    assert _errors(at) == [] and probabilities(at) == before
