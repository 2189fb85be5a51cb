"""The hostile corpus through the command line (``predict`` and ``explain``): a
refusal exits 2 with one line on stderr (what is wrong, what is accepted) and
nothing on stdout; what works exits 0 with a prediction; nothing is written
outside a temporary folder that is gone afterwards (nor the map of a refusal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hyperfusion.cli import main
from tests.cli_process import run_cli
from tests.conftest import REPO_ROOT
from tests.hostile.conftest import Sandbox, assert_one_line
from tests.hostile.corpus import BY_NAME, EHR_CASES, Case, EHRCase, params


@pytest.fixture(scope="module")
def engine():
    from hyperfusion.engine import Engine

    return Engine(device="cpu")


@pytest.fixture
def one_engine(engine, monkeypatch: pytest.MonkeyPatch):
    """Every command of a test gets the same loaded engine (the shipped weights
    are read once per module, not once per case)."""
    monkeypatch.setattr("hyperfusion.engine.Engine", lambda **kwargs: engine)
    return engine


def _refused(capsys: pytest.CaptureFixture, argv: list[str], fragment: str) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.endswith("\n")
    assert_one_line(captured.err, fragment)


@pytest.mark.parametrize("command", ["predict", "explain"])
@pytest.mark.parametrize("case", params(outcome="refused"))
def test_a_refused_case_exits_2_with_one_line_and_writes_nothing(
    case: Case, command: str, sandbox: Sandbox, capsys: pytest.CaptureFixture
) -> None:
    path = sandbox.write(case)
    before = sandbox.begin()
    argv = [command, "--mri", str(path)]
    if command == "explain":
        argv += ["--target", "AD", "--out", str(sandbox.cwd / "map.nii.gz")]
    _refused(capsys, argv, case.fragment)
    sandbox.check(before, case)  # no map, no temporary folder left


@pytest.mark.parametrize("case", params(outcome="works") + params(outcome="warns"))
def test_a_usable_case_is_predicted_with_its_warnings(
    case: Case, sandbox: Sandbox, capsys: pytest.CaptureFixture, one_engine
) -> None:
    path = sandbox.write(case)
    before = sandbox.begin()
    assert main(["predict", "--mri", str(path), "--preprocess", "none", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # no stray line (nibabel's header repairs included)
    result = json.loads(captured.out)
    assert sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    if case.outcome == "works":
        assert result["qc_warnings"] == []
    else:
        assert any(case.fragment in w for w in result["qc_warnings"])
    sandbox.check(before, case)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["LAS orientation", "mixed DICOM series"])
def test_explain_writes_the_map_in_the_scans_own_grid(
    name: str, sandbox: Sandbox, capsys: pytest.CaptureFixture, one_engine
) -> None:
    import nibabel as nib

    from hyperfusion.data.scan_input import read_scan

    path = sandbox.write(BY_NAME[name])
    out = sandbox.cwd / "map.nii.gz"
    argv = ["explain", "--mri", str(path), "--preprocess", "none", "--quiet"]
    assert main([*argv, "--target", "AD", "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""
    assert nib.load(out).shape == read_scan(path).image.shape
    names = {str(p.relative_to(sandbox.root)) for p in sandbox.root.rglob("*")}
    assert names == {"in", "tmp", "cwd", f"in/{path.name}", "cwd/map.nii.gz"}


@pytest.mark.parametrize("case", EHR_CASES, ids=[c.name for c in EHR_CASES])
def test_a_hostile_ehr_file_exits_2_with_one_line(
    case: EHRCase, sandbox: Sandbox, capsys: pytest.CaptureFixture
) -> None:
    ehr = sandbox.inputs / "ehr.json"
    ehr.write_bytes(case.text)
    # The EHR is read first: the scan need not exist for its error to show.
    argv = ["predict", "--mri", str(sandbox.inputs / "none.nii"), "--ehr", str(ehr)]
    _refused(capsys, argv, case.fragment)


def test_a_folder_as_ehr_file_is_one_line(
    sandbox: Sandbox, capsys: pytest.CaptureFixture
) -> None:
    argv = ["predict", "--mri", "x.nii", "--ehr", str(sandbox.inputs)]
    _refused(capsys, argv, "Is a directory")


# A fresh process for each: exit status, stderr, and its own peak memory (VmHWM
# starts afresh at exec) --------------------------------------------------------


def _run(*args: str, root: Path) -> tuple[int, str, str, float]:
    """The CLI in a fresh process (its temporary folders under ``root/tmp``):
    exit code, stdout, stderr, peak MiB."""
    env = {"TMPDIR": str(root / "tmp"), "PYTHONPATH": str(REPO_ROOT)}
    return run_cli(
        *args, peak_file=root / "peak_kib", cwd=root / "cwd", env=env, timeout=300
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["gzip bomb", "zip bomb", "header claiming a billion voxels", "nested zips"],
)
def test_a_bomb_exits_2_in_a_fresh_process_within_the_imports_memory(
    name: str, sandbox: Sandbox
) -> None:
    path = sandbox.write(BY_NAME[name])
    before = sandbox.snapshot()  # its TMPDIR is the sandbox's
    code, out, err, peak_mib = _run("predict", "--mri", str(path), root=sandbox.root)
    assert code == 2 and out == "", err
    assert_one_line(err, BY_NAME[name].fragment)
    # The bombs claim 1 GiB and more; 400 MiB holds the interpreter and its imports
    # (numpy, nibabel, scipy): nothing near the claimed size was held.
    assert peak_mib < 400, peak_mib
    assert sandbox.snapshot() == before


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_half_mm_brain_is_predicted_in_bounded_memory(sandbox: Sandbox) -> None:
    """The 37 M-voxel 0.5 mm brain works: its peak over a 2 mm scan's is under
    eight float32 copies of it (the file, the volume, its reoriented copy, the
    QC's and the model grids' resampling)."""
    import numpy as np

    from tests.hostile.corpus import half_mm_brain

    runs = {}
    for name in ("LAS orientation", "0.5 mm brain"):
        path = sandbox.write(BY_NAME[name])
        argv = ("predict", "--mri", str(path), "--preprocess", "none", "--json")
        code, out, err, runs[name] = _run(*argv, root=sandbox.root)
        assert code == 0 and err == "", err
        assert json.loads(out)["qc_warnings"] == []
    volume_mib = 4 * int(np.prod(half_mm_brain().shape)) / 1024**2
    assert runs["0.5 mm brain"] - runs["LAS orientation"] < 8 * volume_mib, runs
