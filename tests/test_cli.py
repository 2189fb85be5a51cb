"""The command line: JSON predictions on the MNI152 template, and exit 2 with one
line, in bounded memory, on every kind of bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from hyperfusion.cli import main
from hyperfusion.data.templates import load_template

from .cli_process import run_cli
from .conftest import REPO_ROOT
from .tolerances import reduction_atol, rounding_atol


def _run(*args: str, tmp_path: Path) -> tuple[int, str, str, float]:
    """Run the CLI in a fresh process: exit code, stdout, stderr, peak MiB."""
    return run_cli(*args, peak_file=tmp_path / "peak_kib", cwd=REPO_ROOT)


def _hostile_files(folder: Path) -> dict[str, Path]:
    files = {}
    text = folder / "text.nii.gz"
    text.write_text("this is not an image\n")
    files["text file named .nii.gz"] = text
    whole = gzip.compress(load_template(resolution=2).to_bytes())
    truncated = folder / "truncated.nii.gz"
    truncated.write_bytes(whole[: len(whole) // 3])
    files["truncated .nii.gz"] = truncated
    eye = np.eye(4)
    for name, data in {
        "2d.nii.gz": np.ones((64, 64), np.float32),
        "4d.nii.gz": np.ones((16, 16, 16, 5), np.float32),
        "nan.nii.gz": np.full((16, 16, 16), np.nan, np.float32),
    }.items():
        nib.Nifti1Image(data, eye).to_filename(folder / name)
        files[name] = folder / name
    header = nib.Nifti1Header()
    header.set_data_shape((1000, 1000, 10000))  # 10^10 voxels
    header.set_data_dtype(np.uint8)
    huge = folder / "huge.nii"
    huge.write_bytes(header.binaryblock + b"\0" * 4 + b"\0" * 4096)
    files["header claiming 10^10 voxels"] = huge
    return files


@pytest.mark.slow
def test_hostile_files_exit_2_with_one_line_in_bounded_memory(tmp_path):
    for label, path in _hostile_files(tmp_path).items():
        code, out, err, peak_mib = _run(
            "predict", "--mri", str(path), "--json", tmp_path=tmp_path
        )
        lines = err.strip().splitlines()
        assert code == 2, (label, err)
        assert len(lines) == 1 and lines[0].startswith("error: "), (label, err)
        assert "Traceback" not in err and out == ""
        # 10^10 uint8 voxels would be 9.3 GiB; 400 MiB leaves room for the
        # interpreter and its imports only: nothing near the claimed size was read.
        assert peak_mib < 400, (label, peak_mib)


@pytest.mark.parametrize(
    "args",
    [
        ["predict", "--mri", "missing.nii.gz"],
        ["predict", "--mri", "x.nii", "--set", "AGE=250"],
        ["predict", "--mri", "x.nii", "--set", "AGEE=70"],
        ["predict", "--mri", "x.nii", "--set", "AGE"],
        ["predict", "--mri", "x.nii", "--model", "flim"],
        ["predict"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    load_template(resolution=2).to_filename(tmp_path / "x.nii")
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(args))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err


def test_ehr_json_file_and_set_overrides(tmp_path, capsys, monkeypatch):
    from hyperfusion.cli.predict import read_ehr

    path = tmp_path / "ehr.json"
    path.write_text(json.dumps({"AGE": 70, "PTGENDER": "F", "ABETA": ">1700"}))
    record = read_ehr(path, ["AGE=81", "ABETA=unknown"])
    assert record["AGE"] == 81.0 and record["PTGENDER"] == "Female"
    assert record["ABETA"] is None
    path.write_text("[1, 2]")
    with pytest.raises(Exception, match="accepted: an object"):
        read_ehr(path, [])


@pytest.mark.slow
def test_predict_json_on_the_1mm_mni152_template(tmp_path):
    path = tmp_path / "mni152_1mm.nii.gz"
    load_template(resolution=1).to_filename(path)
    code, out, err, _ = _run(
        "predict",
        "--mri",
        str(path),
        "--task",
        "both",
        "--json",
        "--device",
        "cpu",
        tmp_path=tmp_path,
    )
    assert code == 0, err
    result = json.loads(out)
    probs = result["probabilities"]
    assert set(probs) == {"CN", "MCI", "AD"}
    # Three probabilities printed to 4 decimals; a float32 softmax of 3 terms.
    total = rounding_atol(4, n_values=3) + reduction_atol(3, 1.0)
    assert sum(probs.values()) == pytest.approx(1.0, abs=total)
    assert isinstance(result["brain_age"], float)
    assert result["device"] == "CPU" and result["qc_warnings"] == []
    assert result["models"] == {"ad": "hyperfusion", "brain-age": "hyperfusion"}
    if not result["trained"]:
        assert "UNTRAINED" in result["warning"]


@pytest.mark.slow
def test_info_lists_every_model(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    names = {(m["task"], m["model"]) for m in info["models"]}
    assert ("ad", "daft") in names and ("brain-age", "concat") in names
    assert len(names) == 12
