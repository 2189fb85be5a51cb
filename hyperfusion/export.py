"""Downloads: a prediction with its EHR as JSON or CSV, maps as gzipped NIfTI bytes.

Pure functions (no Streamlit): the pages pass what they show and hand the bytes to a
download button. Nothing here writes to disk.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Mapping
from typing import Any

import nibabel as nib
import pandas as pd

from hyperfusion import __version__
from hyperfusion.data.ehr_schema import FIELDS
from hyperfusion.prediction import Prediction

NOTICE = (
    "Research and teaching tool, not a medical device; predictions must not inform "
    "any clinical decision."
)


def prediction_report(
    prediction: Prediction, ehr: Mapping[str, Any], subject: str | None = None
) -> dict[str, Any]:
    """The prediction, the EHR it was made from and the subject, as plain data.

    ``ehr`` lists every schema field; ``None`` means unknown.
    """
    return {
        "subject": subject,
        "ehr": {f.name: ehr.get(f.name) for f in FIELDS},
        "prediction": prediction.to_dict(),
        "software": f"HyperFusion Studio {__version__}",
        "notice": NOTICE,
    }


def prediction_json(
    prediction: Prediction, ehr: Mapping[str, Any], subject: str | None = None
) -> bytes:
    """:func:`prediction_report` as indented UTF-8 JSON."""
    report = prediction_report(prediction, ehr, subject)
    return json.dumps(report, indent=2, ensure_ascii=False).encode("utf-8")


def prediction_csv(
    prediction: Prediction, ehr: Mapping[str, Any], subject: str | None = None
) -> bytes:
    """One CSV row: subject, the EHR columns (empty = unknown), then predictions.

    Prediction columns: ``diagnosis``, ``P_<class>`` and ``P_<class>_sd``,
    ``brain_age``, ``brain_age_sd``, ``brain_age_gap``, the models, the ensemble
    sizes, ``trained`` and ``device``.
    """
    d = prediction.to_dict()
    row: dict[str, Any] = {"subject": subject}
    row.update({f.name: ehr.get(f.name) for f in FIELDS})
    row["diagnosis"] = d["diagnosis"]
    for cls, p in d["probabilities"].items():
        row[f"P_{cls}"] = p
        row[f"P_{cls}_sd"] = d["probabilities_sd"][cls]
    for key in ("brain_age", "brain_age_sd", "brain_age_gap"):
        row[key] = d[key]
    row["ad_model"] = d["models"]["ad"]
    row["brain_age_model"] = d["models"]["brain-age"]
    row["ad_ensemble_size"] = d["ensemble_size"]["ad"]
    row["brain_age_ensemble_size"] = d["ensemble_size"]["brain-age"]
    row["trained"] = d["trained"]
    row["device"] = d["device"]
    buffer = io.StringIO()
    pd.DataFrame([row]).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def nifti_gz_bytes(img: nib.Nifti1Image, description: str = "") -> bytes:
    """A NIfTI-1 image as ``.nii.gz`` bytes (float32, header text fields cleared).

    Args:
        img: e.g. ``Engine.gradcam_in_input_space(...)``; its affine and shape are
            kept as they are.
        description: up to 79 characters for the header's ``descrip`` field.
    """
    out = nib.Nifti1Image(
        img.get_fdata(dtype="float32"), img.affine, header=img.header.copy()
    )
    for name in ("descrip", "aux_file", "db_name", "intent_name"):
        out.header[name] = b""
    out.header["descrip"] = description.encode("ascii", "replace")[:79]
    out.set_data_dtype("float32")
    return gzip.compress(out.to_bytes(), compresslevel=6, mtime=0)
