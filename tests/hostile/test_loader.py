"""The hostile corpus through the loader (``read_scan``, as bytes and as a file):
each refusal is one line naming the problem and what is accepted; what works
comes back as a clean 3D volume; archives write nothing outside a temporary folder
that is gone afterwards; bombs are stopped in bounded memory."""

from __future__ import annotations

import logging
import tracemalloc

import nibabel as nib
import numpy as np
import pytest

from hyperfusion.data import dicom
from hyperfusion.data.nifti_io import load_mri
from hyperfusion.data.qc import quality_check
from hyperfusion.data.scan_input import read_scan
from hyperfusion.errors import HyperFusionError, TemporaryFolderError
from tests.hostile.conftest import Sandbox, assert_one_line
from tests.hostile.corpus import (
    BY_NAME,
    CASES,
    OTHERS,
    SOME,
    Case,
    half_mm_brain,
    params,
    template,
)


@pytest.mark.parametrize("via", ["bytes", "file"])
@pytest.mark.parametrize("case", params(outcome="refused"))
def test_a_refused_case_is_one_line_and_leaves_nothing(
    case: Case, via: str, sandbox: Sandbox
) -> None:
    source = case.data() if via == "bytes" else sandbox.write(case)
    before = sandbox.begin()
    with pytest.raises(HyperFusionError) as info:
        read_scan(source)
    assert_one_line(str(info.value), case.fragment)
    sandbox.check(before, case)  # the temporary folder is gone too


@pytest.mark.parametrize("case", params(outcome="works") + params(outcome="warns"))
def test_a_usable_case_is_a_clean_volume_with_its_warnings(
    case: Case, sandbox: Sandbox
) -> None:
    path = sandbox.write(case)
    before = sandbox.begin()
    img = read_scan(path).image
    sandbox.check(before, case)
    data = np.asarray(img.dataobj)
    assert data.ndim == 3 and data.dtype == np.float32 and np.isfinite(data).all()
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")
    warnings = quality_check(img).warnings
    if case.outcome == "works":
        assert warnings == (), warnings
    else:
        assert any(case.fragment in w for w in warnings), warnings


@pytest.mark.parametrize(
    "name", ["LAS orientation", "LIA orientation", "negative voxel size", "NIfTI-2"]
)
def test_other_storage_of_the_template_reads_as_the_template(name: str) -> None:
    """The same image in the world, stored otherwise: the same RAS voxels."""
    expected = load_mri(template())
    img = read_scan(BY_NAME[name].data()).image
    np.testing.assert_array_equal(np.asarray(img.dataobj), np.asarray(expected.dataobj))
    np.testing.assert_allclose(img.affine, expected.affine, atol=1e-4)


def test_some_nan_and_inf_voxels_become_zero_and_only_they() -> None:
    img = read_scan(BY_NAME["some NaN and Inf voxels"].data()).image
    data, brain = np.asarray(img.dataobj), np.asarray(template().dataobj)
    for where in (SOME, OTHERS):
        assert (brain[where] > 0).all() and (data[where] == 0).all()
        brain[where] = 0
    np.testing.assert_array_equal(data, brain)


def test_of_mixed_series_the_t1_is_chosen_and_the_t2_named() -> None:
    loaded = read_scan(BY_NAME["mixed DICOM series"].data())
    assert loaded.dicom is not None and loaded.dicom.series.number == 5
    assert 'series 3 ("T2 SPACE SAG"): less T1-like' in loaded.dicom.reason


@pytest.mark.parametrize(
    "name",
    [
        "DICOM series with missing slices",
        "DICOM report (no image)",
        "DICOM with unreadable compression",
    ],
)
def test_the_simpleitk_fallback_refuses_the_same_dicom_cases(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dcm2niix(folder: object, out: object) -> None:
        raise dicom._ConverterFailed("simulated: no dcm2niix")

    monkeypatch.setattr(dicom, "_run_dcm2niix", no_dcm2niix)
    with pytest.raises(HyperFusionError) as info:
        read_scan(BY_NAME[name].data())
    assert_one_line(str(info.value), BY_NAME[name].fragment)


# Bounded memory: a bomb is stopped long before what it claims is held (tracemalloc
# sees numpy's and Python's allocations).
BOMBS = {
    "gzip bomb": 1024**3,
    "zip bomb": 1100 * 1024**2,
    "header claiming a billion voxels": 2 * 1024**3,
    "0.5 mm head": 2 * 396 * 468 * 380,
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_bomb_is_refused_within_a_small_share_of_what_it_claims(name: str) -> None:
    data = BY_NAME[name].data()
    tracemalloc.start()
    try:
        with pytest.raises(HyperFusionError):
            read_scan(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The gzip bomb reads its header's 16 KiB plus the 1 MiB margin, in 1 MiB
    # chunks: well under 1% of the gigabyte it would inflate to.
    assert peak < BOMBS[name] / 100, (name, peak)


@pytest.mark.slow
def test_a_half_mm_brain_is_read_within_three_float32_copies() -> None:
    """The 37 M-voxel 0.5 mm brain is read, not refused: the decompressed file
    (uint8), its float32 volume and one reoriented copy at most."""
    data = BY_NAME["0.5 mm brain"].data()
    volume_bytes = 4 * int(np.prod(half_mm_brain().shape))
    tracemalloc.start()
    try:
        img = read_scan(data).image
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert img.shape == half_mm_brain().shape
    assert peak < 3 * volume_bytes, (peak, volume_bytes)


def test_every_case_has_a_distinct_name_and_an_expected_message() -> None:
    assert len({c.name for c in CASES}) == len(CASES)
    for case in CASES:
        assert case.outcome in ("refused", "works", "warns"), case
        assert bool(case.fragment) == (case.outcome != "works"), case


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_an_unwritable_temporary_folder_is_one_line_for_a_zip_only(
    kind: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    dicom_zip = BY_NAME["mixed DICOM series"].data()  # built before the fault
    nifti = BY_NAME["LAS orientation"].data()
    broken = sandbox.root / "no-such-folder"
    if kind == "a file":
        broken = sandbox.inputs / "not-a-folder"
        broken.write_bytes(b"x")
    monkeypatch.setattr(tempfile, "tempdir", str(broken))
    with pytest.raises(TemporaryFolderError) as info:
        read_scan(dicom_zip)
    message = str(info.value)
    assert "\n" not in message and str(broken) in message and "TMPDIR" in message
    assert read_scan(nifti).kind == "nifti"  # read in memory: no temporary folder


def test_the_header_repairs_of_a_read_are_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """nibabel logs each header field it repairs (here the negative voxel sizes)
    to stderr: a second line beside the CLI's one, and header contents in a
    server's log."""
    caplog.set_level(logging.DEBUG, logger="nibabel.global")
    read_scan(BY_NAME["negative voxel size"].data())
    assert [r.getMessage() for r in caplog.records if r.name == "nibabel.global"] == []
