"""``python -m hyperfusion explain``: a map as NIfTI in the input's own space, and
exit 2 with one line on bad arguments."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from hyperfusion.cli import main
from hyperfusion.data.examples import EXAMPLES_DIR, example_record, list_examples

PTID = str(list_examples()["PTID"].iloc[0])


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> nib.Nifti1Image:
    """An example subject on its own grid: 2.5 mm voxels, shifted origin."""
    from nilearn.image import resample_img

    img = nib.load(EXAMPLES_DIR / f"{PTID}.nii.gz")
    affine = np.diag([2.5, 2.5, 2.5, 1.0])
    affine[:3, 3] = (-91.0, -127.0, -71.0)
    moved = resample_img(
        img,
        target_affine=affine,
        target_shape=(74, 90, 74),
        interpolation="linear",
        force_resample=True,
        copy_header=True,
    )
    path = tmp_path_factory.mktemp("scan") / "scan.nii.gz"
    nib.save(moved, path)
    return nib.load(path)


def _explain(scan, tmp_path, *extra: str) -> tuple[int, nib.Nifti1Image | None]:
    out = tmp_path / "map.nii.gz"
    ehr = tmp_path / "ehr.json"
    ehr.write_text(json.dumps(dict(example_record(PTID))))
    argv = ["explain", "--mri", scan.get_filename(), "--ehr", str(ehr)]
    argv += ["--preprocess", "none", "--out", str(out), "--quiet", *extra]
    code = main(argv)
    return code, nib.load(out) if out.exists() else None


@pytest.mark.parametrize("method", [None, "occlusion"])
def test_the_map_is_written_in_the_input_space(scan, tmp_path, capsys, method):
    extra = ["--target", "AD", "--set", "AGE=80"]
    extra += [] if method is None else ["--method", method]
    code, written = _explain(scan, tmp_path, *extra)
    assert code == 0
    assert written.shape == scan.shape
    np.testing.assert_allclose(written.affine, scan.affine)
    data = written.get_fdata()
    assert np.isfinite(data).all() and np.abs(data).max() > 0
    described = written.header["descrip"].tobytes().decode()
    assert described.startswith("HyperFusion ") and " AD: " in described
    printed = capsys.readouterr().out
    assert str(written.shape[:3]) in printed
    if method == "occlusion":
        assert "rank" in printed and "side" in printed  # the ranked patches


def test_bad_arguments_fail_in_one_line_with_exit_2(scan, tmp_path, capsys):
    code = main(["explain", "--mri", scan.get_filename(), "--target", "AD"])
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as info:
        main(["explain", "--mri", "x", "--target", "AD", "--method", "saliency"])
    assert info.value.code == 2
    assert "saliency" in capsys.readouterr().err
    code = main(["explain", "--mri", "x", "--target", "AD", "--out", "map.png"])
    err = capsys.readouterr().err
    assert code == 2 and "NIfTI" in err and err.count("\n") == 1
