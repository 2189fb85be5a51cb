"""Zip uploads: refused whole, with one line and no member name, when a member
would land outside the extraction folder, is a link, or when the archive holds more
files or bytes than allowed; otherwise extracted flat, under numbered names."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from hyperfusion.cli import main
from hyperfusion.config import SCAN_LIMITS, ScanLimits
from hyperfusion.data.archive import extract_zip
from hyperfusion.data.scan_input import read_scan
from hyperfusion.errors import InvalidScanError
from tests.hostile.archives import zip_of


def _zip(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    """Stored, not deflated: the size limits below count the bytes as written."""
    return zip_of(members, links, compression=zipfile.ZIP_STORED)


HOSTILE = {
    "a '..' path": _zip({"Doe^Jane/../../evil.dcm": b"x"}),
    "a Windows '..' path": _zip({"series\\..\\..\\evil.dcm": b"x"}),
    "an absolute path": _zip({"/tmp/Doe^Jane/evil.dcm": b"x"}),
    "a drive letter": _zip({"C:/Doe^Jane/evil.dcm": b"x"}),
    "a symbolic link": _zip({"ok.dcm": b"x"}, links=("Doe^Jane/link.dcm",)),
    "too many files": _zip(
        {f"f{i}.dcm": b"" for i in range(SCAN_LIMITS.max_files + 1)}
    ),
}


@pytest.mark.parametrize("label", sorted(HOSTILE))
def test_hostile_zip_is_refused_whole_with_one_line(label, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(InvalidScanError) as info:
        extract_zip(HOSTILE[label], dest)
    message = str(info.value)
    assert "\n" not in message and "is accepted" in message
    assert "Doe" not in message and "evil" not in message  # names never echoed
    assert list(dest.iterdir()) == []  # checked before anything is written


def test_zip_over_the_byte_limit_is_refused_before_extraction(tmp_path):
    data = _zip({"a.dcm": b"x" * 600, "b.dcm": b"y" * 600})
    with pytest.raises(InvalidScanError, match="unpacks to 1,200 bytes"):
        extract_zip(data, tmp_path, limits=ScanLimits(max_files=10, max_bytes=1000))
    assert list(tmp_path.iterdir()) == []


def test_a_member_that_inflates_past_its_declared_size_is_refused(tmp_path):
    """A forged central directory declares 10 bytes for a 5,000-byte member: the
    declared total passes the check, the bytes actually read do not."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.dcm", b"x" * 5000)
    data = bytearray(buffer.getvalue())
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(InvalidScanError) as info:
        extract_zip(bytes(data), dest, limits=ScanLimits(max_files=10, max_bytes=1000))
    assert "\n" not in str(info.value)


def test_a_safe_zip_is_extracted_flat_and_junk_skipped(tmp_path):
    data = _zip(
        {
            "PATIENT/Doe^Jane/IM0001": b"a",
            "PATIENT/Doe^Jane/IM0002.dcm": b"b",
            "__MACOSX/PATIENT/._IM0001": b"junk",
            "PATIENT/.DS_Store": b"junk",
        }
    )
    written = extract_zip(data, tmp_path)
    assert [p.name for p in written] == ["00000.dcm", "00001.dcm"]
    assert [p.read_bytes() for p in written] == [b"a", b"b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00000.dcm", "00001.dcm"]


def test_a_truncated_zip_is_one_clear_line(tmp_path):
    data = _zip({"a.dcm": b"x" * 1000})
    with pytest.raises(InvalidScanError, match="not a readable zip"):
        read_scan(data[: len(data) // 2])


def test_a_zip_without_dicom_says_so_and_leaves_no_temporary_files(
    tmp_path, monkeypatch
):
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with pytest.raises(InvalidScanError, match="no DICOM image series"):
        read_scan(_zip({"notes.txt": b"not an image"}))
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("label", ["a '..' path", "an absolute path", "too many files"])
def test_cli_refuses_a_hostile_zip_with_exit_2_and_one_line(label, tmp_path, capsys):
    path = tmp_path / "upload.zip"
    path.write_bytes(HOSTILE[label])
    assert main(["predict", "--mri", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert captured.out == "" and "Doe" not in captured.err


def test_extract_zip_accepts_a_path(tmp_path):
    path = tmp_path / "a.zip"
    path.write_bytes(_zip({"x/IM1": b"1"}))
    dest = tmp_path / "out"
    dest.mkdir()
    assert [p.read_bytes() for p in extract_zip(Path(path), dest)] == [b"1"]


def test_a_zipped_nifti_is_read_as_the_nifti():
    import gzip

    import numpy as np

    from hyperfusion.data.nifti_io import load_mri
    from hyperfusion.data.templates import load_template

    data = gzip.compress(load_template(2).to_bytes())
    loaded = read_scan(_zip({"scan/t1.nii.gz": data}))
    assert loaded.kind == "nifti" and loaded.dicom is None
    np.testing.assert_array_equal(
        np.asarray(loaded.image.dataobj), np.asarray(load_mri(data).dataobj)
    )
