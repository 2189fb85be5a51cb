"""Raw-looking scans with known ground truth, made from the MNI152 templates.

- :func:`shell_head`: the 1 mm template inside a synthetic skull and scalp (T1-like
  layers of CSF, bone, marrow, fat and skin grown outward from the brain mask), so
  the true brain mask is the template's.
- :func:`motion`, :func:`moved`: an image's content moved by a known world transform
  and sampled on another grid (as a head sits in a scanner).
- :func:`write_dicom_series`: a volume written as an MR DICOM series with pydicom,
  with fake identifiers in every header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation

from hyperfusion.data.templates import load_brain_mask, load_template

# (outer distance from the brain mask in mm, T1 intensity on the template's scale)
SHELL_LAYERS = (
    (2.0, 0.08),  # CSF
    (4.5, 0.03),  # inner table
    (7.0, 0.35),  # diploe (marrow)
    (9.0, 0.03),  # outer table
    (13.0, 0.85),  # scalp fat
    (15.0, 0.45),  # skin and muscle
)
# Fake identifiers written into every header; none may reach an output.
IDENTIFIERS = {
    "PatientName": "Doe^Jane",
    "PatientID": "HF-PT-7731",
    "PatientBirthDate": "19480213",
    "StudyDate": "20261115",
    "SeriesDate": "20261115",
    "AcquisitionDate": "20261115",
    "ContentDate": "20261115",
    "AccessionNumber": "ACC9911",
    "InstitutionName": "St Example Hospital",
    "ReferringPhysicianName": "Smith^Alan",
}
IDENTIFIER_STRINGS = (
    "Doe",
    "Jane",
    "HF-PT-7731",
    "7731",
    "19480213",
    "20261115",
    "2026-11-15",
    "ACC9911",
    "Example Hospital",
    "Smith",
)


@lru_cache(maxsize=1)
def _shell_head_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    template = load_template(1)
    mask = np.asarray(load_brain_mask(1).dataobj) > 0
    head = np.asarray(template.dataobj, dtype=np.float32) * mask
    distance = ndimage.distance_transform_edt(~mask)
    inner = 0.0
    for outer, value in SHELL_LAYERS:
        head[(distance > inner) & (distance <= outer)] = value
        inner = outer
    head = ndimage.gaussian_filter(head, 0.6).astype(np.float32)
    return head, mask, np.asarray(template.affine)


def shell_head() -> tuple[nib.Nifti1Image, np.ndarray]:
    """The 1 mm template inside a skull-and-scalp shell, and the true brain mask."""
    head, mask, affine = _shell_head_arrays()
    return nib.Nifti1Image(head.copy(), affine), mask.copy()


def motion(
    degrees: tuple[float, float, float] = (10.0, 0.0, 0.0),
    scale: float = 1.0,
    shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> np.ndarray:
    """A 4x4 RAS world transform: rotation (x, y, z Euler degrees) and isotropic
    scale about the MNI origin, then a shift."""
    out = np.eye(4)
    out[:3, :3] = Rotation.from_euler("xyz", degrees, degrees=True).as_matrix() * scale
    out[:3, 3] = shift_mm
    return out


def moved(
    img: nib.Nifti1Image, move: np.ndarray, affine: np.ndarray, shape: tuple
) -> np.ndarray:
    """``img``'s content moved by ``move`` (world mm), sampled on ``(affine, shape)``
    with linear interpolation (0 outside)."""
    to_source = np.linalg.inv(img.affine) @ np.linalg.inv(move) @ affine
    data = np.asarray(img.dataobj, dtype=np.float32)
    return ndimage.affine_transform(
        data, to_source[:3, :3], to_source[:3, 3], output_shape=shape, order=1
    ).astype(np.float32)


def scanner_grid(shape=(200, 230, 200), voxel_mm: float = 1.0) -> np.ndarray:
    """An axis-aligned RAS grid centred on the MNI origin."""
    affine = np.diag([voxel_mm] * 3 + [1.0])
    affine[:3, 3] = -(np.asarray(shape) - 1) / 2 * voxel_mm
    return affine


@dataclass(frozen=True)
class Acquisition:
    """A slab: ``(slices, rows, columns)`` voxels of ``(slice, row, column)`` mm,
    with LPS unit vectors (DICOM's conventions) and the first voxel's position."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    normal: np.ndarray
    column_dir: np.ndarray  # ImageOrientationPatient[3:], rows run along it
    row_dir: np.ndarray  # ImageOrientationPatient[:3], columns run along it
    origin: np.ndarray

    @property
    def affine(self) -> np.ndarray:
        """Voxel ``(k, r, c)`` -> RAS mm."""
        lps = np.eye(4)
        lps[:3, 0] = self.normal * self.spacing[0]
        lps[:3, 1] = self.column_dir * self.spacing[1]
        lps[:3, 2] = self.row_dir * self.spacing[2]
        lps[:3, 3] = self.origin
        return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def _rounded(values: np.ndarray, digits: int = 6) -> np.ndarray:
    return np.round(np.asarray(values, dtype=np.float64), digits)


def sagittal_acquisition(
    shape=(150, 240, 224), spacing=(1.2, 1.0, 1.0), tilt_deg=(6.0, 0.0, 4.0)
) -> Acquisition:
    """An oblique sagittal slab (LPS): columns run posterior, rows inferior,
    centred near the MNI origin; directions rounded as a DICOM header stores them."""
    tilt = Rotation.from_euler("xyz", tilt_deg, degrees=True).as_matrix()
    row_dir = _rounded(tilt @ [0.0, 1.0, 0.0])
    column_dir = _rounded(tilt @ [0.0, 0.0, -1.0])
    normal = np.cross(row_dir, column_dir)
    centre = np.array([0.0, 10.0, 10.0])  # LPS
    extent = (np.asarray(shape) - 1) * np.asarray(spacing)
    origin = (
        centre - (normal * extent[0] + column_dir * extent[1] + row_dir * extent[2]) / 2
    )
    return Acquisition(
        tuple(shape), tuple(spacing), normal, column_dir, row_dir, _rounded(origin, 4)
    )


def localizer_acquisition() -> Acquisition:
    """Three axial slices 20 mm apart: the scout that precedes every series."""
    return Acquisition(
        (3, 256, 256),
        (20.0, 1.0, 1.0),
        np.array([0.0, 0.0, 1.0]),
        np.array([0.0, 1.0, 0.0]),
        np.array([1.0, 0.0, 0.0]),
        np.array([-127.5, -127.5, -20.0]),
    )


def _ds(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def new_dataset(sop_class: str, fields: Mapping[str, object]) -> Any:
    """A pydicom dataset of ``sop_class`` with its file meta (explicit VR little
    endian), a fresh SOP instance UID, and ``fields`` set."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    for key, value in fields.items():
        setattr(ds, key, value)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, uid
    return ds


def set_pixels(ds: Any, pixels: np.ndarray) -> None:
    """One 16-bit signed monochrome frame as the dataset's pixel data."""
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<i2").tobytes()


def _slice_dataset(acq: Acquisition, k: int, pixels: np.ndarray, common: dict):
    from pydicom.uid import MRImageStorage

    ds = new_dataset(MRImageStorage, {**IDENTIFIERS, **common})
    ds.InstanceNumber = k + 1
    position = acq.origin + k * acq.spacing[0] * acq.normal
    ds.ImagePositionPatient = [_ds(v) for v in position]
    ds.ImageOrientationPatient = [_ds(v) for v in (*acq.row_dir, *acq.column_dir)]
    ds.PixelSpacing = [_ds(acq.spacing[1]), _ds(acq.spacing[2])]
    ds.SliceThickness = _ds(acq.spacing[0])
    ds.SpacingBetweenSlices = _ds(acq.spacing[0])
    set_pixels(ds, pixels)
    return ds


def write_dicom_series(
    folder: Path,
    volume: np.ndarray,
    acq: Acquisition,
    number: int,
    description: str,
    study_uid: str,
    three_d: bool = True,
) -> list[Path]:
    """Write ``volume`` ``(slices, rows, columns)`` int16 as one MR series."""
    from pydicom.uid import generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    common = {
        "Modality": "MR",
        "Manufacturer": "HyperFusion test",
        "PatientPosition": "HFS",
        "StudyInstanceUID": study_uid,
        "SeriesInstanceUID": generate_uid(),
        "FrameOfReferenceUID": generate_uid(),
        "SeriesNumber": number,
        "SeriesDescription": description,
        "MRAcquisitionType": "3D" if three_d else "2D",
        "RepetitionTime": "2300",
        "EchoTime": "2.98",
        "StudyTime": "101500",
    }
    paths = []
    for k in range(volume.shape[0]):
        path = folder / f"s{number:02d}_{k:04d}.dcm"
        _slice_dataset(acq, k, volume[k], common).save_as(
            path, enforce_file_format=True
        )
        paths.append(path)
    return paths


def to_int16(volume: np.ndarray, peak: float = 3000.0) -> np.ndarray:
    """A [0, 1]-ish volume as scanner-like int16 values."""
    return np.clip(np.round(volume * peak), 0, 32767).astype(np.int16)


def zip_folder(folder: Path, path: Path, inner: str = "DICOM") -> Path:
    """Zip every file of ``folder`` under ``inner/`` (as a PACS export does)."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, f"{inner}/{file.relative_to(folder)}")
    return path


@dataclass(frozen=True)
class MovedHeadScan:
    """A moved head written both as a zipped DICOM session and as its NIfTI."""

    zip_path: Path
    nifti_path: Path
    folder: Path


def write_moved_head_scan(folder: Path) -> MovedHeadScan:
    """The shell head moved (8, -5, 4 degrees; 6, -10, 12 mm) and acquired as an
    oblique sagittal 1 x 1 x 1.2 mm series (number 2) beside a 3-slice localizer
    (number 1), zipped; and the same voxels as a NIfTI."""
    from pydicom.uid import generate_uid

    head, _ = shell_head()
    move = motion((8.0, -5.0, 4.0), 1.0, (6.0, -10.0, 12.0))
    acq, scout = sagittal_acquisition(), localizer_acquisition()
    volume = to_int16(moved(head, move, acq.affine, acq.shape))
    study = generate_uid()
    dicom_dir = folder / "dicom"
    write_dicom_series(dicom_dir, volume, acq, 2, "T1_MPRAGE_SAG", study)
    scout_volume = to_int16(moved(head, move, scout.affine, scout.shape))
    write_dicom_series(dicom_dir, scout_volume, scout, 1, "localizer", study, False)
    nifti = folder / "moved_head.nii.gz"
    nib.Nifti1Image(volume, acq.affine).to_filename(nifti)
    zipped = zip_folder(dicom_dir, folder / "session.zip")
    return MovedHeadScan(zipped, nifti, dicom_dir)


# The acceptance case: the template rotated 10 degrees (about x), scaled 1.1 and
# shifted 15 mm (along x), as a skull-stripped scan in scanner space.
KNOWN_MOVE = motion((10.0, 0.0, 0.0), 1.1, (15.0, 0.0, 0.0))


@lru_cache(maxsize=1)
def _moved_template_data() -> tuple[np.ndarray, np.ndarray]:
    template = load_template(1)
    affine = scanner_grid()
    shape = (200, 230, 200)
    to_source = np.linalg.inv(template.affine) @ np.linalg.inv(KNOWN_MOVE) @ affine
    spline = ndimage.affine_transform(
        np.asarray(template.dataobj, dtype=np.float32),
        to_source[:3, :3],
        to_source[:3, 3],
        output_shape=shape,
        order=3,
    )
    mask = moved(load_brain_mask(1), KNOWN_MOVE, affine, shape) >= 0.5
    return (spline * mask).astype(np.float32), affine


def moved_template() -> nib.Nifti1Image:
    """The 1 mm template under :data:`KNOWN_MOVE` on an axis-aligned 1 mm scanner
    grid: cubic interpolation, cut by the moved brain mask (a stripped scan has a
    crisp edge, not interpolation's faint rim)."""
    data, affine = _moved_template_data()
    return nib.Nifti1Image(data.copy(), affine)


@lru_cache(maxsize=1)
def moved_template_result():
    """``preprocess_scan(moved_template())`` in mode auto, computed once."""
    from hyperfusion.data.preprocess import preprocess_scan

    return preprocess_scan(moved_template(), "auto", device="cpu")
