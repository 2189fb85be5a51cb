"""Safe, bounded extraction of an uploaded zip (a zipped DICOM series).

A zip is refused whole, before anything is written, when a member's path is absolute
or climbs out of the archive (``..``), when a member is a symbolic link or encrypted,
or when it holds more files or more uncompressed bytes than
:data:`hyperfusion.config.SCAN_LIMITS` allows; a member that is itself a zip is
refused as it is read (archives inside archives are never unpacked). Members are
written under flat, numbered names (their own names never reach the disk, and never
a message: a folder may be named after the patient), and the bytes actually read
are counted, so a member that inflates beyond its declared size stops at the limit
too.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from hyperfusion.config import MRI_LIMITS, SCAN_LIMITS, ScanLimits
from hyperfusion.errors import InvalidScanError

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_ACCEPTED = "a zip of one DICOM series (or a folder of .dcm files) is accepted"
_CHUNK = 1024**2
_DRIVE = re.compile(r"^[A-Za-z]:")
# Files that archivers add beside the data; counted, never extracted.
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db")
_NIFTI_SUFFIXES = (".nii.gz", ".nii")


def _fail(message: str) -> InvalidScanError:
    return InvalidScanError(f"{message}; {_ACCEPTED}")


def is_zip(head: bytes) -> bool:
    """Whether the first bytes of a file are a zip's (empty zips included).

    Example:
        >>> is_zip(b"PK\\x03\\x04rest"), is_zip(b"\\x1f\\x8b")
        (True, False)
    """
    return head[:4] in (ZIP_MAGIC, EMPTY_ZIP_MAGIC)


def _unsafe_path(name: str) -> bool:
    """An absolute path, a drive letter or a ``..`` component (either separator)."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return True
    return ".." in re.split(r"[/\\]", name)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _is_junk(name: str) -> bool:
    base = PurePosixPath(name.replace("\\", "/")).name
    return name.startswith(_JUNK[0]) or base in _JUNK[1:] or base.startswith("._")


def check_members(members: list[zipfile.ZipInfo], limits: ScanLimits) -> None:
    """Refuse an archive whose listing is unsafe or over ``limits`` (nothing read).

    Raises:
        InvalidScanError: with one line naming the problem (never a member's name).
    """
    files = [m for m in members if not m.is_dir()]
    if len(files) > limits.max_files:
        raise _fail(
            f"the zip holds {len(files):,} files, more than {limits.max_files:,}"
        )
    if any(_unsafe_path(m.filename) for m in members):
        raise _fail(
            "the zip holds a member with an absolute path or a '..' component"
            " (it would be written outside the folder it is extracted to)"
        )
    if any(_is_symlink(m) for m in members):
        raise _fail("the zip holds a symbolic link")
    if any(m.flag_bits & 0x1 for m in members):
        raise _fail("the zip is encrypted (password-protected)")
    declared = sum(m.file_size for m in files)
    if declared > limits.max_bytes:
        raise _fail(
            f"the zip unpacks to {declared:,} bytes, more than {limits.max_bytes:,}"
        )


def _member_suffix(name: str) -> str:
    lower = name.lower()
    return next((s for s in _NIFTI_SUFFIXES if lower.endswith(s)), ".dcm")


def _copy_bounded(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int
) -> int:
    """Write one member to ``target``; returns its size. Stops past ``budget``."""
    written = 0
    with archive.open(info) as src, target.open("wb") as out:
        while part := src.read(_CHUNK):
            if written == 0 and is_zip(part[:4]):
                raise _fail(
                    "the zip holds another zip (archives inside archives are not"
                    " unpacked: zip the DICOM files themselves)"
                )
            written += len(part)
            if written > budget:
                raise _fail("the zip unpacks to more bytes than it declares")
            out.write(part)
    return written


def _open(source: Path | bytes) -> zipfile.ZipFile:
    size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    if size > MRI_LIMITS.max_file_bytes:
        raise _fail(
            f"the zip is {size:,} bytes, more than {MRI_LIMITS.max_file_bytes:,}"
        )
    try:
        return zipfile.ZipFile(
            io.BytesIO(source) if isinstance(source, bytes) else source
        )
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail("the file is not a readable zip (corrupt or truncated)") from exc


def extract_zip(
    source: Path | bytes, dest: Path, *, limits: ScanLimits = SCAN_LIMITS
) -> list[Path]:
    """Extract a zip's files flat into ``dest``, after checking it whole.

    Args:
        source: the zip's path or bytes.
        dest: an existing (temporary) folder.
        limits: the number of files and of uncompressed bytes allowed.

    Returns:
        The written files, named ``00000.dcm``, ``00001.dcm`` ... (``.nii`` or
        ``.nii.gz`` kept for NIfTI members); archive junk (``__MACOSX``) is skipped.

    Raises:
        InvalidScanError: the zip is unreadable, unsafe or over ``limits``.

    Example:
        >>> import tempfile
        >>> buffer = io.BytesIO()
        >>> with zipfile.ZipFile(buffer, "w") as z:
        ...     z.writestr("series/slice1.dcm", b"x")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     [p.name for p in extract_zip(buffer.getvalue(), Path(tmp))]
        ['00000.dcm']
    """
    with _open(source) as archive:
        members = archive.infolist()
        check_members(members, limits)
        budget = limits.max_bytes
        written: list[Path] = []
        try:
            for info in members:
                if info.is_dir() or _is_junk(info.filename):
                    continue
                target = dest / f"{len(written):05d}{_member_suffix(info.filename)}"
                budget -= _copy_bounded(archive, info, target, budget)
                written.append(target)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise _fail("the zip is corrupt (a member could not be read)") from exc
    return written


__all__ = ["check_members", "extract_zip", "is_zip"]
