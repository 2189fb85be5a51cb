"""Builders of the corpus's zip and DICOM cases, as bytes (see :mod:`.corpus`).

DICOM series are written with pydicom (:func:`tests.data.scans.write_dicom_series`,
fake identifiers in every header) from the 2 mm template moved into a small oblique
sagittal slab, then zipped in memory; nothing here is downloaded.
"""

from __future__ import annotations

import io
import stat
import struct
import tempfile
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from hyperfusion.data.templates import load_template
from tests.data.scans import (
    localizer_acquisition,
    motion,
    moved,
    sagittal_acquisition,
    to_int16,
    write_dicom_series,
)

# Where an absolute member path of the corpus points: it must never appear.
ABSOLUTE_TARGET = "/tmp/hyperfusion-hostile-absolute/escaped.dcm"
# The series: 60 sagittal slices of 2.5 mm (a 3D volume by the series rules).
SLICES = 60
DROPPED = tuple(range(24, 30))  # the slices a "missing slices" series lacks
JPEG_XL = "1.2.840.10008.1.2.4.110"  # JPEG XL lossless, unknown to both converters


def zip_of(
    members: dict[str, bytes],
    links: tuple[str, ...] = (),
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A zip of ``members`` (name -> bytes), plus symbolic links named ``links``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def zip_bomb(members: int = 1100, member_bytes: int = 1024**2) -> bytes:
    """A real zip bomb: ``members`` deflated members of ``member_bytes`` zeros each
    (1.1 GiB in about 1 MB), written by hand so that one member is compressed once
    (``zipfile`` would deflate 1.1 GiB)."""
    zeros = bytes(member_bytes)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = packer.compress(zeros) + packer.flush()
    crc = zlib.crc32(zeros)
    local, central = io.BytesIO(), io.BytesIO()
    for i in range(members):
        name = f"DICOM/IM{i:05d}".encode()
        offset = local.tell()
        sizes = (crc, len(data), member_bytes, len(name))
        local.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, *sizes, 0))
        local.write(name + data)
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                *(0x02014B50, 20, 20, 0, 8, 0, 0, *sizes, 0, 0, 0, 0, 0, offset),
            )
        )
        central.write(name)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, members, members, central.tell(), local.tell(), 0
    )
    return local.getvalue() + central.getvalue() + end


@lru_cache(maxsize=1)
def _slab() -> tuple[np.ndarray, object]:
    """The moved 2 mm template sampled on a 60 x 72 x 88 oblique sagittal slab."""
    acq = sagittal_acquisition((SLICES, 72, 88), (2.5, 2.5, 2.5), (6.0, 0.0, 4.0))
    move = motion((5.0, 0.0, -3.0), 1.0, (4.0, -6.0, 8.0))
    return to_int16(moved(load_template(2), move, acq.affine, acq.shape)), acq


def _zip_folder(folder: Path) -> bytes:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return zip_of({f"DICOM/{p.relative_to(folder)}": p.read_bytes() for p in files})


def _write_t1(folder: Path, study: str, number: int = 2, desc: str = "T1 MPRAGE"):
    volume, acq = _slab()
    return write_dicom_series(folder, volume, acq, number, desc, study)


@lru_cache(maxsize=1)
def dicom_t1() -> bytes:
    """A zipped 3D T1 series (60 slices) beside a 3-slice localizer."""
    from pydicom.uid import generate_uid

    with tempfile.TemporaryDirectory() as tmp:
        folder, study = Path(tmp), generate_uid()
        _write_t1(folder, study)
        scout = localizer_acquisition()
        move = motion((5.0, 0.0, -3.0), 1.0, (4.0, -6.0, 8.0))
        scout_volume = to_int16(
            moved(load_template(2), move, scout.affine, scout.shape)
        )
        write_dicom_series(folder, scout_volume, scout, 1, "localizer", study, False)
        return _zip_folder(folder)


def dicom_missing_slices() -> bytes:
    """The T1 series with slices 25 to 30 of 60 deleted (a gap in the stack)."""
    from pydicom.uid import generate_uid

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for k, path in enumerate(_write_t1(folder, generate_uid())):
            if k in DROPPED:
                path.unlink()
        return _zip_folder(folder)


def dicom_mixed_series() -> bytes:
    """A T2 and a T1 series of the same slab, in one folder (the T1 is wanted)."""
    from pydicom.uid import generate_uid

    with tempfile.TemporaryDirectory() as tmp:
        folder, study = Path(tmp), generate_uid()
        _write_t1(folder, study, 3, "T2 SPACE SAG")
        _write_t1(folder, study, 5, "T1 MPRAGE SAG")
        return _zip_folder(folder)


def dicom_compressed() -> bytes:
    """The T1 series with JPEG XL lossless pixel data (transfer syntax
    1.2.840.10008.1.2.4.110), which neither dcm2niix nor GDCM decodes: written as
    HTJ2K (a UID of the same length that pydicom knows), then relabelled."""
    import pydicom
    from pydicom.encaps import encapsulate
    from pydicom.uid import HTJ2KLossless, generate_uid

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for path in _write_t1(folder, generate_uid()):
            ds = pydicom.dcmread(path)
            ds.file_meta.TransferSyntaxUID = HTJ2KLossless
            ds.PixelData = encapsulate([b"\xff\x0a" + bytes(range(256)) * 4])
            ds["PixelData"].VR = "OB"
            ds.save_as(path, enforce_file_format=True)
            raw = path.read_bytes()
            path.write_bytes(raw.replace(HTJ2KLossless.encode(), JPEG_XL.encode(), 1))
        return _zip_folder(folder)


def dicom_report() -> bytes:
    """A Basic Text SR (a radiology report: no pixels) as one ``.dcm`` file."""
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    from tests.data.scans import IDENTIFIERS, new_dataset

    ds = new_dataset("1.2.840.10008.5.1.4.1.1.88.11", IDENTIFIERS)  # Basic Text SR
    ds.Modality = "SR"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SeriesNumber, ds.InstanceNumber = 9, 1
    ds.ValueType, ds.CompletionFlag, ds.VerificationFlag = "CONTAINER", "COMPLETE", ""
    item = Dataset()
    item.RelationshipType, item.ValueType = "CONTAINS", "TEXT"
    item.TextValue = "No acute intracranial abnormality."
    ds.ContentSequence = [item]
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def nested_zip() -> bytes:
    """A zip holding the zipped T1 series (and that zip inside one more)."""
    return zip_of({"export/inner.zip": zip_of({"deeper.zip": dicom_t1()})})


__all__ = [
    "ABSOLUTE_TARGET",
    "DROPPED",
    "dicom_compressed",
    "dicom_missing_slices",
    "dicom_mixed_series",
    "dicom_report",
    "dicom_t1",
    "nested_zip",
    "zip_bomb",
    "zip_of",
]
