"""The bundled examples' shipped quality checks are what checking them gives, and
are used only for the very file they were computed on."""

from __future__ import annotations

import math
import shutil

import pytest

from hyperfusion.data.example_qc import QC_FILE, shipped_qc
from hyperfusion.data.examples import EXAMPLES_DIR, example_image_bytes, list_examples
from hyperfusion.data.nifti_io import load_mri
from hyperfusion.data.qc import quality_check

PTIDS = list(list_examples()["PTID"])


@pytest.mark.parametrize("ptid", PTIDS)
def test_shipped_report_is_the_check_of_the_file(ptid: str) -> None:
    data = example_image_bytes(ptid)
    shipped = shipped_qc(ptid, data)
    assert shipped is not None, (
        f"{QC_FILE} lacks {ptid} or is stale: rerun make_examples --qc"
    )
    fresh = quality_check(load_mri(data))
    assert shipped.ok == fresh.ok and shipped.warnings == fresh.warnings
    assert shipped.metrics.keys() == fresh.metrics.keys()
    for name, value in fresh.metrics.items():
        # float64 metrics of float32 voxels: another CPU's summation order moves
        # them by ~1e-12 relative; 1e-6 leaves room and still catches any change
        assert math.isclose(shipped.metrics[name], value, rel_tol=1e-6, abs_tol=1e-9)


def test_a_changed_file_is_checked_afresh(tmp_path) -> None:
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES_DIR, folder)
    ptid = PTIDS[0]
    data = example_image_bytes(ptid, folder)
    assert shipped_qc(ptid, data, folder) is not None
    assert shipped_qc(ptid, data + b"\0", folder) is None  # another file
    assert shipped_qc("NOT_AN_EXAMPLE", data, folder) is None
    (folder / QC_FILE).unlink()
    assert shipped_qc(ptid, data, folder) is None
