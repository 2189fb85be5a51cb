"""What a DICOM file's meta header says, for the messages of an upload no converter
could read: a file that holds no image (a report, a PDF...), or pixel data
compressed in a form neither dcm2niix nor GDCM decodes.

The meta header (group 0002, always explicit VR little endian, after the 128-byte
preamble and ``DICM``) is parsed by hand: it names the SOP class and the transfer
syntax without decoding anything else, and pydicom is not a runtime dependency.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

SOP_CLASS = 0x0002  # (0002,0002) MediaStorageSOPClassUID
TRANSFER_SYNTAX = 0x0010  # (0002,0010) TransferSyntaxUID
_PREAMBLE = 132  # 128 bytes, then "DICM"
_META_BYTES = 8192
_LONG_VRS = {
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"SQ",
    b"UC",
    b"UN",
    b"UR",
    b"UT",
}
_FILES_READ = 16
UNCOMPRESSED = frozenset(
    {
        "1.2.840.10008.1.2",  # implicit VR little endian
        "1.2.840.10008.1.2.1",  # explicit VR little endian
        "1.2.840.10008.1.2.1.99",  # deflated explicit VR little endian
        "1.2.840.10008.1.2.2",  # explicit VR big endian
    }
)
# Transfer syntax UID prefixes -> the compression's name.
_COMPRESSIONS = (
    ("1.2.840.10008.1.2.4.11", "JPEG XL"),
    ("1.2.840.10008.1.2.4.20", "HTJ2K"),
    ("1.2.840.10008.1.2.4.9", "JPEG 2000"),
    ("1.2.840.10008.1.2.4.8", "JPEG-LS"),
    ("1.2.840.10008.1.2.4.1", "MPEG or HEVC video"),
    ("1.2.840.10008.1.2.4.", "JPEG"),
    ("1.2.840.10008.1.2.5", "RLE"),
)
# SOP class UID prefixes of objects without an image -> what they are.
_NON_IMAGES = (
    ("1.2.840.10008.5.1.4.1.1.88.", "a structured report"),
    ("1.2.840.10008.5.1.4.1.1.104.", "an encapsulated document"),
    ("1.2.840.10008.5.1.4.1.1.11.", "a presentation state"),
    ("1.2.840.10008.5.1.4.1.1.9.", "a waveform"),
    ("1.2.840.10008.5.1.4.1.1.66", "raw data or a registration"),
)


def file_meta(path: Path) -> dict[int, str]:
    """The text elements of a DICOM Part 10 file's meta header, by element number
    (``{SOP_CLASS: "1.2...", TRANSFER_SYNTAX: "1.2..."}``); empty when the file is
    not one or cannot be read.

    Example:
        >>> file_meta(Path("/nonexistent.dcm"))
        {}
    """
    try:
        with Path(path).open("rb") as f:
            head = f.read(_PREAMBLE + _META_BYTES)
    except OSError:
        return {}
    if head[128:_PREAMBLE] != b"DICM":
        return {}
    found: dict[int, str] = {}
    pos = _PREAMBLE
    while pos + 8 <= len(head):
        group, element = struct.unpack_from("<HH", head, pos)
        if group != 2:
            break
        vr = head[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > len(head):
                break
            (length,) = struct.unpack_from("<I", head, pos + 8)
            start = pos + 12
        else:
            (length,) = struct.unpack_from("<H", head, pos + 6)
            start = pos + 8
        if vr == b"UI":
            found[element] = head[start : start + length].decode("ascii", "replace")
            found[element] = found[element].strip("\0 ")
        pos = start + length
    return found


def _name(uid: str, table: tuple[tuple[str, str], ...]) -> str | None:
    return next((name for prefix, name in table if uid.startswith(prefix)), None)


def why_unreadable(files: Sequence[Path], accepted: str) -> str | None:
    """Why no series of ``files`` could be read, from a few meta headers: they hold
    no image, or pixel data compressed in a form that is not decoded; ``None`` when
    neither explains it. ``accepted`` ends the message.

    Example:
        >>> why_unreadable([], "DICOM is accepted") is None
        True
    """
    step = max(1, len(files) // _FILES_READ)
    metas = [m for m in map(file_meta, list(files)[::step][:_FILES_READ]) if m]
    if not metas:
        return None
    kinds = {_name(m.get(SOP_CLASS, ""), _NON_IMAGES) for m in metas}
    if None not in kinds:
        what = " and ".join(sorted(str(k) for k in kinds))
        return f"the DICOM files hold no image ({what}, not pixel data); {accepted}"
    compressed = sorted({m.get(TRANSFER_SYNTAX, "") for m in metas} - UNCOMPRESSED)
    compressed = [uid for uid in compressed if uid]
    if not compressed:
        return None
    uid = compressed[0]
    name = _name(uid, _COMPRESSIONS) or "an unknown transfer syntax"
    return (
        f"the DICOM pixel data is compressed as {name} (transfer syntax {uid}),"
        " which cannot be decoded here; decompress it first (e.g. gdcmconv --raw,"
        f" or dcmtk's dcmdjpeg) or export the series uncompressed; {accepted}"
    )


__all__ = [
    "SOP_CLASS",
    "TRANSFER_SYNTAX",
    "UNCOMPRESSED",
    "file_meta",
    "why_unreadable",
]
