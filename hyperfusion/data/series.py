"""Which of several DICOM series is the 3D T1: the rules, and the words that say why.

A scan session holds localizers, T2s, FLAIRs and diffusion besides the T1. Each
converted series is described by a :class:`SeriesInfo` (its number and description,
its voxel grid, a few acquisition hints from the JSON sidecar); :func:`choose_series`
drops those that are not a 3D volume and ranks the rest by how T1-like they are.
Descriptions are scrubbed of anything that looks like an identifier
(:func:`scrub_text`) before they are stored, so a report can always show them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hyperfusion.errors import InvalidScanError

MIN_SLICES = 32
MAX_VOXEL_MM = 3.0
MIN_EXTENT_MM = 100.0
_T1_WORDS = (
    "t1",
    "mprage",
    "mp-rage",
    "mp2rage",
    "spgr",
    "fspgr",
    "bravo",
    "tfe",
    "tfl",
)
_OTHER_WORDS = ("t2", "flair", "dwi", "dti", "diff", "swi", "pd", "bold", "fmri")
_OTHER_WORDS += ("asl", "loc", "scout", "survey", "calib", "tof", "perf", "adc")
# A run of 6+ digits (dates, IDs) and the separators of a date.
_LONG_NUMBER = re.compile(r"\d[\d.\-/]{4,}\d")


@dataclass(frozen=True)
class SeriesInfo:
    """One converted series, as the report may show it (no identifiers).

    Attributes:
        number: the DICOM SeriesNumber, when known.
        description: SeriesDescription (else ProtocolName), scrubbed.
        shape: voxels of the converted image (3 or 4 axes).
        voxel_mm: voxel sizes in mm.
        acquisition: MRAcquisitionType (``"3D"``, ``"2D"`` or ``""``).
        repetition_s / echo_s: RepetitionTime and EchoTime in seconds (NaN unknown).
        derived: ImageType says DERIVED (a reformat or a map).
        even_slices: the slices lie at equal steps (False: slices are missing, or
            the spacing varies, and one voxel grid would distort the volume).
    """

    number: int | None
    description: str
    shape: tuple[int, ...]
    voxel_mm: tuple[float, ...]
    acquisition: str = ""
    repetition_s: float = math.nan
    echo_s: float = math.nan
    derived: bool = False
    even_slices: bool = True

    @property
    def label(self) -> str:
        """``series 3 ("T1 MPRAGE SAG")``."""
        number = "?" if self.number is None else str(self.number)
        text = f' ("{self.description}")' if self.description else ""
        return f"series {number}{text}"

    def words(self) -> list[str]:
        """The description's lower-case words (split on anything not a letter,
        digit or hyphen)."""
        return [w for w in re.split(r"[^a-z0-9\-]+", self.description.lower()) if w]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "number": self.number,
            "description": self.description,
            "shape": list(self.shape),
            "voxel_mm": [round(v, 3) for v in self.voxel_mm],
            "acquisition": self.acquisition,
        }


def scrub_text(text: str, identifiers: Iterable[str] = ()) -> str:
    """``text`` without any identifier's words (3+ characters, any case) and with
    long digit runs (dates, IDs) replaced by ``#``.

    Example:
        >>> scrub_text("T1 DOE 20240131", ["DOE^JANE"])
        'T1 #'
    """
    out = text
    for value in identifiers:
        for token in re.split(r"[\^\s,]+", value):
            if len(token) >= 3:
                out = re.sub(re.escape(token), "", out, flags=re.IGNORECASE)
    out = _LONG_NUMBER.sub("#", out)
    return " ".join(re.sub(r"[^\w\-+#.() ]", " ", out).split())[:64]


def series_from_sidecar(
    sidecar: Mapping[str, object],
    shape: Sequence[int],
    voxel_mm: Sequence[float],
    identifiers: Iterable[str] = (),
) -> SeriesInfo:
    """A :class:`SeriesInfo` from a dcm2niix JSON sidecar (whitelisted keys only)."""

    def number(key: str) -> float:
        value = sidecar.get(key)
        return float(value) if isinstance(value, int | float) else math.nan

    series = sidecar.get("SeriesNumber")
    text = sidecar.get("SeriesDescription") or sidecar.get("ProtocolName") or ""
    image_type = sidecar.get("ImageType") or []
    return SeriesInfo(
        number=int(series) if isinstance(series, int | float) else None,
        description=scrub_text(str(text), identifiers),
        shape=tuple(int(n) for n in shape),
        voxel_mm=tuple(float(v) for v in voxel_mm),
        acquisition=str(sidecar.get("MRAcquisitionType") or "").upper(),
        repetition_s=number("RepetitionTime"),
        echo_s=number("EchoTime"),
        derived="DERIVED" in [str(t).upper() for t in image_type],
    )


def why_not_volume(info: SeriesInfo) -> str | None:
    """Why a series is not a usable 3D volume, or None when it is."""
    volumes = math.prod(info.shape[3:])
    spatial = info.shape[:3]
    if len(spatial) < 3 or min(spatial) < MIN_SLICES:
        n = min(spatial) if spatial else 0
        return f"{n} slices, not a 3D volume"
    if volumes > 1:
        return f"{volumes} volumes (a time series, not one T1)"
    if not info.even_slices:
        return "slices missing or unevenly spaced (export the complete series)"
    if max(info.voxel_mm[:3]) > MAX_VOXEL_MM:
        return f"{max(info.voxel_mm[:3]):.1f} mm slices, thicker than {MAX_VOXEL_MM:g}"
    extent = min(n * v for n, v in zip(spatial, info.voxel_mm, strict=False))
    if extent < MIN_EXTENT_MM:
        return f"covers only {extent:.0f} mm, not a whole head"
    return None


def t1_hints(info: SeriesInfo) -> tuple[int, list[str]]:
    """A T1-likeness score and the reasons behind it (for the report)."""
    words = info.words()
    sizes = info.voxel_mm[:3]
    checks = [
        (4, "its description names a T1", any(w.startswith(_T1_WORDS) for w in words)),
        (
            -6,
            "its description names another contrast",
            any(w.startswith(_OTHER_WORDS) for w in words),
        ),
        (3, "a 3D acquisition", info.acquisition == "3D"),
        (1, "short TR and TE", info.repetition_s < 3.5 and info.echo_s < 0.015),
        (-2, "a derived image", info.derived),
        (1, "near-isotropic voxels", max(sizes) <= 1.5 * min(sizes)),
    ]
    hits = [(score, reason) for score, reason, hit in checks if hit]
    return sum(score for score, _ in hits), [reason for _, reason in hits]


def _grid_text(info: SeriesInfo) -> str:
    sizes = " x ".join(f"{v:.2g}" for v in info.voxel_mm[:3])
    return f"{'x'.join(str(n) for n in info.shape[:3])} voxels of {sizes} mm"


def choose_series(series: Sequence[SeriesInfo]) -> tuple[int, str]:
    """Pick the 3D T1-like series.

    Returns:
        Its index in ``series`` and a sentence saying why, naming the others.

    Raises:
        InvalidScanError: no series is a usable 3D volume.
    """
    if not series:
        raise InvalidScanError(
            "no DICOM image series was found; a zip or folder of one T1 series"
            " (.dcm files) is accepted"
        )
    problems = [why_not_volume(s) for s in series]
    usable = [i for i, p in enumerate(problems) if p is None]
    if not usable:
        listed = "; ".join(
            f"{s.label}: {p}" for s, p in zip(series, problems, strict=True)
        )
        raise InvalidScanError(
            f"none of the {len(series)} DICOM series is a usable 3D volume ({listed});"
            f" a 3D T1 series (at least {MIN_SLICES} slices of at most"
            f" {MAX_VOXEL_MM:g} mm) is accepted"
        )
    ranked = sorted(
        usable,
        key=lambda i: (t1_hints(series[i])[0], math.prod(series[i].shape[:3])),
        reverse=True,
    )
    best = ranked[0]
    reasons = t1_hints(series[best])[1]
    reason = f"{series[best].label} chosen: {_grid_text(series[best])}"
    reason += f" ({', '.join(reasons)})" if reasons else ""
    others = [
        f"{s.label}: {problems[i] or 'less T1-like'}"
        for i, s in enumerate(series)
        if i != best
    ]
    if others:
        reason += f"; not chosen: {'; '.join(others)}"
    return best, reason


__all__ = [
    "SeriesInfo",
    "choose_series",
    "scrub_text",
    "series_from_sidecar",
    "t1_hints",
    "why_not_volume",
]
