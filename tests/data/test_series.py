"""Choosing the 3D T1 among a session's series, saying why, and keeping identifiers
out of the words that say it."""

from __future__ import annotations

import math

import pytest

from hyperfusion.data.series import (
    SeriesInfo,
    choose_series,
    scrub_text,
    series_from_sidecar,
    why_not_volume,
)
from hyperfusion.errors import InvalidScanError

LOCALIZER = SeriesInfo(1, "localizer", (256, 256, 3), (1.0, 1.0, 20.0), "2D")
T1 = SeriesInfo(2, "T1_MPRAGE_SAG", (176, 240, 256), (1.2, 1.0, 1.0), "3D", 2.3, 0.003)
FLAIR = SeriesInfo(3, "3D FLAIR SAG", (176, 256, 256), (1.0, 1.0, 1.0), "3D", 5.0, 0.4)
T2_AX = SeriesInfo(4, "T2 TSE AX", (320, 320, 40), (0.7, 0.7, 3.0), "2D", 6.0, 0.1)
DWI = SeriesInfo(5, "DWI", (128, 128, 60, 33), (2.0, 2.0, 2.0), "2D")


def test_the_3d_t1_wins_over_localizer_flair_t2_and_dwi():
    index, reason = choose_series([LOCALIZER, FLAIR, T2_AX, T1, DWI])
    assert index == 3
    assert reason.startswith('series 2 ("T1_MPRAGE_SAG") chosen')
    assert "3D acquisition" in reason and "names a T1" in reason
    assert 'series 1 ("localizer"): 3 slices, not a 3D volume' in reason
    assert 'series 5 ("DWI"): 33 volumes' in reason
    assert 'series 3 ("3D FLAIR SAG"): less T1-like' in reason


def test_without_descriptions_the_3d_near_isotropic_series_wins():
    plain_t1 = SeriesInfo(7, "", T1.shape, T1.voxel_mm, "3D", 2.3, 0.003)
    plain_t2 = SeriesInfo(8, "", T2_AX.shape, T2_AX.voxel_mm, "2D", 6.0, 0.1)
    assert choose_series([plain_t2, plain_t1])[0] == 1


def test_no_usable_series_is_one_line_listing_each_problem():
    with pytest.raises(InvalidScanError) as info:
        choose_series([LOCALIZER, DWI])
    message = str(info.value)
    assert "\n" not in message and "none of the 2 DICOM series" in message
    assert "3 slices" in message and "33 volumes" in message
    with pytest.raises(InvalidScanError, match="no DICOM image series"):
        choose_series([])


@pytest.mark.parametrize(
    ("info", "problem"),
    [
        (SeriesInfo(1, "", (256, 256, 20), (1.0, 1.0, 5.0)), "20 slices"),
        (SeriesInfo(1, "", (64, 64, 40), (4.0, 4.0, 4.0)), "4.0 mm slices"),
        (SeriesInfo(1, "", (64, 64, 40), (1.0, 1.0, 1.0)), "covers only 40 mm"),
        (T1, None),
    ],
)
def test_why_not_volume(info, problem):
    found = why_not_volume(info)
    assert (found is None) if problem is None else (problem in found)


def test_identifiers_and_long_numbers_are_scrubbed():
    identifiers = ["DOE^JANE", "HF-PT-7731", "19480213"]
    text = scrub_text("T1 jane doe HF-PT-7731 2026-11-15 19480213", identifiers)
    assert text == "T1 #"
    assert scrub_text("MPRAGE  <sag>") == "MPRAGE sag"


def test_sidecar_reads_whitelisted_keys_only_and_scrubs():
    sidecar = {
        "SeriesNumber": 3,
        "SeriesDescription": "T1 Jane",
        "MRAcquisitionType": "3D",
        "RepetitionTime": 2.3,
        "EchoTime": 0.003,
        "ImageType": ["ORIGINAL", "PRIMARY"],
        "PatientName": "Doe^Jane",
    }
    info = series_from_sidecar(sidecar, (176, 240, 256), (1, 1, 1), ["Doe^Jane"])
    assert info.description == "T1"
    assert info.number == 3 and info.acquisition == "3D" and not info.derived
    assert "Jane" not in repr(info) and "Doe" not in repr(info)
    empty = series_from_sidecar({}, (10, 10, 10), (1, 1, 1))
    assert empty.number is None and math.isnan(empty.echo_s)
