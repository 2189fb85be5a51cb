"""The bundled example subjects in ``assets/examples/``: the app's defaults.

``assets/examples/examples.csv`` lists them (ADNIMERGE columns plus ``DX`` and a
``description``); each has ``<PTID>.nii.gz``. Until they exist, the MNI152 template
stands in as the one example, with a mid-range record.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

import pandas as pd

from hyperfusion.data.ehr_parsing import read_ehr_csv, records_from_dataframe
from hyperfusion.data.ehr_schema import EHRRecord
from hyperfusion.data.templates import load_template

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "examples"
TEMPLATE_ID = "MNI152"
_TEMPLATE_RECORD: EHRRecord = {"AGE": 70.0, "PTGENDER": "Female", "PTEDUCAT": 16.0}


@lru_cache(maxsize=4)  # called with and without ``folder``: two keys, both kept
def list_examples(folder: Path = EXAMPLES_DIR) -> pd.DataFrame:
    """One row per example subject: ``PTID``, the EHR columns, ``DX``,
    ``description``."""
    csv = Path(folder) / "examples.csv"
    if not csv.is_file():
        return pd.DataFrame(
            [
                {
                    "PTID": TEMPLATE_ID,
                    **_TEMPLATE_RECORD,
                    "DX": None,
                    "description": "MNI152 template (no subject data)",
                }
            ]
        )
    df = read_ehr_csv(csv)
    extra = pd.read_csv(csv, usecols=["PTID", "description"], dtype=str)
    return df.merge(extra, on="PTID", how="left")


def example_record(ptid: str, folder: Path = EXAMPLES_DIR) -> EHRRecord:
    """The EHR record of one example subject (every field; ``None`` = unknown)."""
    df = list_examples(folder)
    row = df[df["PTID"] == ptid]
    if row.empty:
        raise KeyError(ptid)
    return records_from_dataframe(row)[0]


def example_image_bytes(ptid: str, folder: Path = EXAMPLES_DIR) -> bytes:
    """The example's NIfTI file as bytes (what an upload would give)."""
    if ptid == TEMPLATE_ID and not (Path(folder) / "examples.csv").is_file():
        return gzip.compress(load_template(resolution=2).to_bytes(), mtime=0)
    return (Path(folder) / f"{ptid}.nii.gz").read_bytes()
