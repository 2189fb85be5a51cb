"""DICOM series -> one 3D T1 NIfTI: dcm2niix first, SimpleITK as the fallback.

:func:`convert_dicom` converts every series of a folder (``dcm2niix -z y -ba y -f
%s_%d``, the binary shipped in the ``dcm2niix`` wheel, writing into a folder the
caller owns: a temporary one), describes each series, picks the 3D T1-like one
(:func:`hyperfusion.data.series.choose_series`) and loads it through
:func:`~hyperfusion.data.nifti_io.load_mri`. When dcm2niix is missing or fails,
SimpleITK's ``ImageSeriesReader`` (GDCM) reads the series instead.

Identifiers stay behind: dcm2niix's BIDS anonymisation drops them from the
sidecars, only whitelisted sidecar keys are read, the NIfTI header text is cleared by
``load_mri``, and the patient's name, ID and dates (read from a few headers for this
purpose only) are scrubbed from every series description a report shows.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np

from hyperfusion.config import SCAN_LIMITS, ScanLimits
from hyperfusion.data.dicom_meta import why_unreadable
from hyperfusion.data.nifti_io import load_mri
from hyperfusion.data.series import SeriesInfo, choose_series, scrub_text
from hyperfusion.errors import InvalidScanError

if TYPE_CHECKING:
    import SimpleITK as sitk

DCM2NIIX_ARGS = ("-z", "y", "-ba", "y", "-f", "%s_%d", "-v", "0")
DCM2NIIX_TIMEOUT_S = 300
MAX_DEPTH = 5  # folder levels searched (dcm2niix's default depth)
_IDENTIFIER_FILES = 16  # headers read to learn which words to scrub
# Slices are evenly spaced when their steps differ by at most this share of the
# median step (positions are stored as decimal strings: rounding stays far below).
EVEN_TOLERANCE = 0.1
# dcm2niix's interpolated copy of a series whose slice spacing varies.
_EQUALISED = "_Eq_"
# Patient name, ID, birth date, other IDs, address; study / series / acquisition /
# content dates; accession number; institution; referring physician; operators.
IDENTIFIER_TAGS = (
    "0010|0010",
    "0010|0020",
    "0010|0030",
    "0010|1000",
    "0010|1040",
    "0008|0020",
    "0008|0021",
    "0008|0022",
    "0008|0023",
    "0008|0050",
    "0008|0080",
    "0008|0090",
    "0008|1070",
)
_ACCEPTED = "a zip or folder of one 3D T1 DICOM series (.dcm files) is accepted"


@dataclass(frozen=True)
class DicomConversion:
    """The converted T1 and how it was chosen.

    Attributes:
        image: the chosen series from ``load_mri`` (RAS float32, no header text).
        series: the chosen series' description.
        candidates: every series found (the chosen one included).
        reason: one sentence: which series, why, and why not the others.
        converter: ``"dcm2niix"`` or ``"SimpleITK"``.
    """

    image: nib.Nifti1Image
    series: SeriesInfo
    candidates: tuple[SeriesInfo, ...]
    reason: str
    converter: str


@dataclass(frozen=True)
class _Candidate:
    info: SeriesInfo
    load: Callable[[], nib.Nifti1Image]


class _ConverterFailed(Exception):
    """dcm2niix is missing or produced nothing: try the fallback."""


def dicom_files(folder: Path, limits: ScanLimits = SCAN_LIMITS) -> list[Path]:
    """Every regular file under ``folder`` (``MAX_DEPTH`` levels, symlinked folders
    not followed), refused when over ``limits``.

    Raises:
        InvalidScanError: too many files or bytes.
    """
    found: list[Path] = []
    total = 0
    root_depth = len(folder.parts)
    for dirpath, dirnames, filenames in os.walk(folder):
        if len(Path(dirpath).parts) - root_depth >= MAX_DEPTH:
            dirnames[:] = []
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_file():
                continue
            found.append(path)
            total += path.stat().st_size
            if len(found) > limits.max_files or total > limits.max_bytes:
                raise InvalidScanError(
                    f"the DICOM folder holds more than {limits.max_files:,} files or"
                    f" {limits.max_bytes:,} bytes; {_ACCEPTED}"
                )
    return found


@contextmanager
def quiet_itk() -> Iterator[None]:
    """Silence ITK's warnings (printed to stderr, naming files) for a while."""
    import SimpleITK as sitk

    shown = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(shown)


def header_identifiers(files: Sequence[Path]) -> set[str]:
    """The identifying values (name, ID, dates...) of a few DICOM headers, so that
    they can be scrubbed from descriptions; never stored or shown."""
    import SimpleITK as sitk

    step = max(1, len(files) // _IDENTIFIER_FILES)
    values: set[str] = set()
    for path in list(files)[::step][:_IDENTIFIER_FILES]:
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        reader.SetImageIO("GDCMImageIO")
        try:
            with quiet_itk():
                reader.ReadImageInformation()
        except RuntimeError:
            continue  # not a DICOM file
        values.update(_tag(reader, tag) for tag in IDENTIFIER_TAGS)
    return {v for v in values if v}


def _run_dcm2niix(folder: Path, out: Path) -> None:
    try:
        import dcm2niix
    except ImportError as exc:
        raise _ConverterFailed("the dcm2niix wheel is not installed") from exc
    out.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [dcm2niix.bin, *DCM2NIIX_ARGS, "-o", str(out), str(folder)],
            capture_output=True,  # its log names files and series: never shown
            timeout=DCM2NIIX_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise _ConverterFailed(type(exc).__name__) from exc


def _nifti_outputs(out: Path) -> Iterator[tuple[Path, dict, bool]]:
    """Each converted series: its NIfTI, its sidecar and whether its slices are
    evenly spaced. Of a series whose spacing varies (missing slices) dcm2niix
    also writes an interpolated copy (``<name>_Eq_1``): never used (it invents
    what is missing), it marks the original as uneven."""
    paths = sorted(out.glob("*.nii*"))
    stems = [p.name.removesuffix(".gz").removesuffix(".nii") for p in paths]
    copies = [s for s in stems if _EQUALISED in s]
    for path, stem in zip(paths, stems, strict=True):
        if stem in copies:
            continue
        sidecar = path.with_name(f"{stem}.json")
        try:
            meta = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
        except (OSError, ValueError):
            meta = {}
        even = not any(c.startswith(stem + _EQUALISED) for c in copies)
        yield path, meta if isinstance(meta, dict) else {}, even


def dcm2niix_candidates(
    folder: Path, out: Path, identifiers: set[str]
) -> list[_Candidate]:
    """Convert every series of ``folder`` into ``out`` with dcm2niix."""
    from hyperfusion.data.series import series_from_sidecar

    _run_dcm2niix(folder, out)
    candidates = []
    for path, meta, even in _nifti_outputs(out):
        try:
            header = nib.load(path).header
        except Exception:  # a half-written output: skip it
            continue
        info = series_from_sidecar(
            meta, header.get_data_shape(), header.get_zooms()[:3], identifiers
        )
        info = dataclasses.replace(info, even_slices=even)
        candidates.append(_Candidate(info, lambda path=path: load_mri(path)))
    if not candidates:
        raise _ConverterFailed("dcm2niix wrote no image")
    return candidates


def _tag(reader: sitk.ImageFileReader, tag: str) -> str:
    return reader.GetMetaData(tag).strip() if reader.HasMetaDataKey(tag) else ""


def _as_float(text: str, scale: float = 1.0) -> float:
    try:
        return float(text.split("\\")[0]) * scale
    except ValueError:
        return math.nan


def _evenly_spaced(files: Sequence[str]) -> bool:
    """Whether a series' slices lie at equal steps along their normal (none
    missing), from each file's position (ImagePositionPatient)."""
    import SimpleITK as sitk

    if len(files) < 3:
        return True
    reader = sitk.ImageFileReader()
    origins = []
    for name in files:
        reader.SetFileName(name)
        reader.ReadImageInformation()
        origins.append(reader.GetOrigin())
    normal = np.asarray(reader.GetDirection()).reshape(3, 3)[:, 2]
    steps = np.diff(np.sort(np.asarray(origins) @ normal))
    median = float(np.median(steps))
    return median > 0 and float(np.ptp(steps)) <= EVEN_TOLERANCE * median


def _sitk_series_info(files: Sequence[str], identifiers: set[str]) -> SeriesInfo:
    """Describe one GDCM series from its first file's header."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(files[0])
    reader.ReadImageInformation()
    size = reader.GetSize()
    spacing = list(reader.GetSpacing())
    between = _as_float(_tag(reader, "0018|0088"))  # spacing between slices
    if not math.isfinite(between):
        between = _as_float(_tag(reader, "0018|0050"))  # slice thickness
    slices = len(files) if len(files) > 1 else size[2]
    if len(files) > 1 and math.isfinite(between):
        spacing[2] = abs(between)
    number = _as_float(_tag(reader, "0020|0011"))
    text = _tag(reader, "0008|103e") or _tag(reader, "0018|1030")
    return SeriesInfo(
        number=int(number) if math.isfinite(number) else None,
        description=scrub_text(text, identifiers),
        shape=(int(size[0]), int(size[1]), int(slices)),
        voxel_mm=tuple(float(s) for s in spacing[:3]),
        acquisition=_tag(reader, "0018|0023").upper(),
        repetition_s=_as_float(_tag(reader, "0018|0080"), 1e-3),
        echo_s=_as_float(_tag(reader, "0018|0081"), 1e-3),
        derived="DERIVED" in _tag(reader, "0008|0008").upper(),
        even_slices=_evenly_spaced(files),
    )


def _read_sitk_series(files: Sequence[str]) -> nib.Nifti1Image:
    import SimpleITK as sitk

    from hyperfusion.data.sitk_bridge import from_sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(list(files))
    try:
        with quiet_itk():
            image = reader.Execute()
    except RuntimeError as exc:
        raise InvalidScanError(
            f"the DICOM series could not be read (its slices are broken or"
            f" unsupported); {_ACCEPTED}"
        ) from exc
    return load_mri(from_sitk(image))


def sitk_candidates(folder: Path, identifiers: set[str]) -> list[_Candidate]:
    """Every series of ``folder`` (and its subfolders) as SimpleITK sees them."""
    import SimpleITK as sitk

    candidates = []
    folders = sorted({p.parent for p in dicom_files(folder)})
    with quiet_itk():
        for sub in folders:
            for uid in sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(sub)):
                files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(sub), uid)
                try:
                    info = _sitk_series_info(files, identifiers)
                except RuntimeError:
                    continue
                candidates.append(
                    _Candidate(info, lambda files=files: _read_sitk_series(files))
                )
    return candidates


def convert_dicom(
    folder: Path, work: Path, *, limits: ScanLimits = SCAN_LIMITS
) -> DicomConversion:
    """Convert the DICOM series in ``folder`` and keep the 3D T1-like one.

    Args:
        folder: a folder of DICOM files (searched ``MAX_DEPTH`` levels deep).
        work: an empty folder the caller removes afterwards (a temporary one):
            dcm2niix writes there and nowhere else.
        limits: how many files and bytes ``folder`` may hold.

    Returns:
        A :class:`DicomConversion`.

    Raises:
        InvalidScanError: no DICOM series (no image in the files, or pixel data
            compressed in a form that is not decoded), none of them a usable 3D
            volume, or over ``limits``.
    """
    files = dicom_files(folder, limits)
    if not files:
        raise InvalidScanError(f"no files were found in the upload; {_ACCEPTED}")
    identifiers = header_identifiers(files)
    try:
        candidates = dcm2niix_candidates(folder, work / "dcm2niix", identifiers)
        converter = "dcm2niix"
    except _ConverterFailed:
        candidates = sitk_candidates(folder, identifiers)
        converter = "SimpleITK"
    infos = tuple(c.info for c in candidates)
    unreadable = None if infos else why_unreadable(files, _ACCEPTED)
    if unreadable is not None:
        raise InvalidScanError(unreadable)
    index, reason = choose_series(infos)
    return DicomConversion(
        image=candidates[index].load(),
        series=infos[index],
        candidates=infos,
        reason=reason,
        converter=converter,
    )


__all__ = [
    "DCM2NIIX_ARGS",
    "DicomConversion",
    "convert_dicom",
    "dcm2niix_candidates",
    "dicom_files",
    "header_identifiers",
    "sitk_candidates",
]
