"""Any scan in: a NIfTI, a DICOM folder, a zip, ``.dcm`` files or their bytes.

:func:`read_scan` is the boundary for raw scans (as :func:`load_mri` is for NIfTI):
it sniffs what it was given (zip and DICOM by their magic bytes, a folder by being
one), unpacks and converts DICOM inside one temporary folder that is removed
afterwards, and returns a clean RAS image with how it was read. Everything else goes
to :func:`~hyperfusion.data.nifti_io.load_mri`, with its checks and messages.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib

from hyperfusion.config import SCAN_LIMITS, ScanLimits
from hyperfusion.data.archive import extract_zip, is_zip
from hyperfusion.data.dicom import DicomConversion, convert_dicom
from hyperfusion.data.nifti_io import load_mri
from hyperfusion.errors import InvalidMRIError, InvalidScanError, TemporaryFolderError

ScanFile = str | os.PathLike | bytes
ScanSource = ScanFile | nib.Nifti1Image | Sequence[ScanFile]
DICOM_MAGIC_OFFSET = 128
DICOM_MAGIC = b"DICM"
_ACCEPTED = (
    "a NIfTI (.nii, .nii.gz), a zip or folder of one DICOM series, or .dcm files"
    " are accepted"
)


@dataclass(frozen=True)
class LoadedScan:
    """A scan read by :func:`read_scan`.

    Attributes:
        image: RAS float32, header text dropped (see ``load_mri``).
        kind: ``"nifti"`` or ``"dicom"``.
        dicom: how the DICOM series was converted and chosen (``None`` for NIfTI).
    """

    image: nib.Nifti1Image
    kind: str
    dicom: DicomConversion | None = None


def is_dicom(head: bytes) -> bool:
    """Whether a file's first bytes are a DICOM Part 10 file's (``DICM`` at 128).

    Example:
        >>> is_dicom(bytes(128) + b"DICM"), is_dicom(b"\\x1f\\x8b")
        (True, False)
    """
    return head[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + 4] == DICOM_MAGIC


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(DICOM_MAGIC_OFFSET + 4)
    except OSError:
        return b""  # load_mri says why it cannot be read


def _from_folder(folder: Path, work: Path, limits: ScanLimits) -> LoadedScan:
    niftis = [
        p for p in folder.iterdir() if p.name.lower().endswith((".nii", ".nii.gz"))
    ]
    others = [p for p in folder.iterdir() if p not in niftis]
    if niftis and not others:
        if len(niftis) > 1:
            raise InvalidScanError(
                f"the upload holds {len(niftis)} NIfTI images; {_ACCEPTED} (one"
                " image at a time)"
            )
        return LoadedScan(load_mri(niftis[0]), "nifti")
    conversion = convert_dicom(folder, work, limits=limits)
    return LoadedScan(conversion.image, "dicom", conversion)


def _write_files(files: Sequence[ScanFile], folder: Path, limits: ScanLimits) -> None:
    """Copy ``.dcm`` files (paths or bytes) under numbered names, bounded."""
    if len(files) > limits.max_files:
        raise InvalidScanError(
            f"{len(files):,} files were given, more than {limits.max_files:,};"
            f" {_ACCEPTED}"
        )
    total = 0
    for i, item in enumerate(files):
        if isinstance(item, bytes | bytearray | memoryview):
            data = bytes(item)
        else:
            try:
                data = Path(item).read_bytes()
            except OSError as exc:
                raise InvalidScanError(
                    f"a DICOM file could not be read ({exc.strerror}); {_ACCEPTED}"
                ) from exc
        total += len(data)
        if total > limits.max_bytes:
            raise InvalidScanError(
                f"the DICOM files hold more than {limits.max_bytes:,} bytes;"
                f" {_ACCEPTED}"
            )
        (folder / f"{i:05d}.dcm").write_bytes(data)


def _kind(source: ScanFile | Sequence[ScanFile]) -> str:
    """What a source is, by its magic bytes: ``"zip"``, ``"dicom"`` (one file),
    ``"folder"``, ``"files"`` (a list) or ``"nifti"`` (everything else)."""
    if isinstance(source, bytes | bytearray | memoryview):
        head = bytes(source[: DICOM_MAGIC_OFFSET + 4])
        dcm_name = False
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            return "folder"
        head, dcm_name = _head(path), path.suffix.lower() == ".dcm"
    else:
        return "files"
    if is_zip(head[:4]):
        return "zip"
    return "dicom" if is_dicom(head) or dcm_name else "nifti"


def _read_in(
    source: ScanFile | Sequence[ScanFile], kind: str, tmp: Path, limits: ScanLimits
) -> LoadedScan:
    """Unpack a zip or gather DICOM files into ``tmp``, then read them."""
    if kind == "folder":
        conversion = convert_dicom(Path(source), tmp, limits=limits)
        return LoadedScan(conversion.image, "dicom", conversion)
    unpacked = tmp / "input"
    unpacked.mkdir()
    if kind == "zip":
        is_path = isinstance(source, str | os.PathLike)
        extract_zip(Path(source) if is_path else bytes(source), unpacked, limits=limits)
    elif kind == "dicom":
        _write_files([source], unpacked, limits)
    else:
        _write_files(list(source), unpacked, limits)
    return _from_folder(unpacked, tmp, limits)


def _unpack(
    source: ScanFile | Sequence[ScanFile], kind: str, limits: ScanLimits
) -> LoadedScan:
    """:func:`_read_in` inside a temporary folder that is removed afterwards."""
    try:
        with tempfile.TemporaryDirectory(prefix="hyperfusion-scan-") as tmp:
            return _read_in(source, kind, Path(tmp), limits)
    except OSError as exc:  # the upload itself is read without raising OSError
        where = tempfile.tempdir or "(none of TMPDIR, /tmp, /var/tmp is usable)"
        raise TemporaryFolderError(
            f"the temporary folder {where} cannot be written"
            f" ({exc.strerror or type(exc).__name__}); a zip or DICOM upload is"
            " unpacked there: set TMPDIR to a writable folder with room for it"
        ) from exc


def read_scan(source: ScanSource, *, limits: ScanLimits = SCAN_LIMITS) -> LoadedScan:
    """Read one T1 from whatever a user has.

    Args:
        source: a NIfTI path or bytes or ``Nifti1Image``; a folder of DICOM files; a
            zip (path or bytes) of DICOM files (or of one NIfTI); one ``.dcm`` file
            (path or bytes) or a list of them.
        limits: bounds on the files and bytes of DICOM uploads.

    Returns:
        A :class:`LoadedScan`; any temporary files are already removed (a NIfTI
        needs none).

    Raises:
        InvalidMRIError: the NIfTI cannot be used (see ``load_mri``).
        InvalidScanError: the zip is unsafe or broken, or no 3D series is found.
        TemporaryFolderError: a zip or DICOM upload cannot be unpacked because the
            temporary folder cannot be written.
    """
    if isinstance(source, nib.Nifti1Image):
        return LoadedScan(load_mri(source), "nifti")
    single = isinstance(source, bytes | bytearray | memoryview | str | os.PathLike)
    if not single and (not isinstance(source, Sequence) or not source):
        raise InvalidMRIError(
            f"cannot read a scan from a {type(source).__name__}; {_ACCEPTED}"
        )
    kind = _kind(source)
    if kind == "nifti":  # read in memory: no temporary folder
        return LoadedScan(load_mri(source), "nifti")
    return _unpack(source, kind, limits)


__all__ = ["LoadedScan", "ScanSource", "is_dicom", "read_scan"]
