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
    prediction: Prediction,
    ehr: Mapping[str, Any],
    subject: str | None = None,
    preprocessing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The prediction, the EHR it was made from and the subject, as plain data.

    ``ehr`` lists every schema field; ``None`` means unknown. ``preprocessing``:
    ``PreprocessReport.to_dict()`` of an uploaded scan (its steps and figures, no
    header text), ``None`` for an image used as it was.
    """
    return {
        "subject": subject,
        "ehr": {f.name: ehr.get(f.name) for f in FIELDS},
        "prediction": prediction.to_dict(),
        "preprocessing": None if preprocessing is None else dict(preprocessing),
        "software": f"HyperFusion Studio {__version__}",
        "notice": NOTICE,
    }


def prediction_json(
    prediction: Prediction,
    ehr: Mapping[str, Any],
    subject: str | None = None,
    preprocessing: Mapping[str, Any] | None = None,
) -> bytes:
    """:func:`prediction_report` as indented UTF-8 JSON."""
    report = prediction_report(prediction, ehr, subject, preprocessing)
    return json.dumps(report, indent=2, ensure_ascii=False).encode("utf-8")


def prediction_csv(
    prediction: Prediction,
    ehr: Mapping[str, Any],
    subject: str | None = None,
    preprocessing: Mapping[str, Any] | None = None,
) -> bytes:
    """One CSV row: subject, the EHR columns (empty = unknown), then predictions.

    Prediction columns: ``diagnosis``, ``P_<class>`` and ``P_<class>_sd``,
    ``brain_age``, ``brain_age_sd``, ``brain_age_gap``, the models, the ensemble
    sizes, ``trained`` and ``device``; then, with ``preprocessing``, its columns
    (:func:`preprocessing_columns`).
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
    if preprocessing is not None:
        row.update(preprocessing_columns(preprocessing))
    buffer = io.StringIO()
    pd.DataFrame([row]).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def preprocessing_columns(report: Mapping[str, Any]) -> dict[str, Any]:
    """A preprocessing report (``PreprocessReport.to_dict()``) as flat CSV columns:
    ``preprocessing_mode``, ``preprocessing_ran`` (steps joined by ``;``),
    ``preprocessing_series`` (the series number), ``preprocessing_warnings`` (how
    many figures are implausible), then per step ``<step>_status``,
    ``<step>_seconds`` and ``<step>_<figure>`` with ``<step>_<figure>_ok``."""
    series = report.get("series") or {}
    out: dict[str, Any] = {
        "preprocessing_mode": report.get("mode"),
        "preprocessing_ran": ";".join(report.get("ran", [])),
        "preprocessing_series": series.get("number"),
        "preprocessing_warnings": len(report.get("warnings", [])),
    }
    for step in report.get("steps", []):
        name = step["name"]
        out[f"{name}_status"] = step["status"]
        out[f"{name}_seconds"] = step["seconds"]
        for figure in step["figures"]:
            out[f"{name}_{figure['name']}"] = figure["value"]
            out[f"{name}_{figure['name']}_ok"] = figure["ok"]
    return out


def nifti_gz_bytes(img: nib.Nifti1Image, description: str = "") -> bytes:
    """A NIfTI-1 image as ``.nii.gz`` bytes (float32) in a fresh header: only the
    geometry (affine, its q/s-form codes, the spatial unit) comes from ``img``'s
    header, never its text fields (``descrip``, ``aux_file``, ``intent_name``,
    ``db_name``) or extensions, which may carry patient data.

    Args:
        img: e.g. ``Engine.gradcam_in_input_space(...)``; its affine and shape are
            kept as they are.
        description: up to 79 characters for the header's ``descrip`` field.
    """
    source = img.header
    out = nib.Nifti1Image(img.get_fdata(dtype="float32"), img.affine)
    if isinstance(source, nib.Nifti1Header):  # Nifti2Header is a subclass
        sform, qform = int(source["sform_code"]), int(source["qform_code"])
        out.header.set_sform(img.affine, code=sform or "aligned")
        out.header.set_qform(img.affine, code=qform or "unknown")
        xyz = source.get_xyzt_units()[0]
        out.header.set_xyzt_units(xyz=xyz if xyz != "unknown" else "mm")
    out.header["descrip"] = description.encode("ascii", "replace")[:79]
    out.set_data_dtype("float32")
    return gzip.compress(out.to_bytes(), compresslevel=6, mtime=0)


def explanation_nifti(img: nib.Nifti1Image, explanation: Any, name: str) -> bytes:
    """A map (e.g. ``Engine.explain(...)`` resampled by
    ``Engine.gradcam_in_input_space``) as NIfTI bytes, gzipped unless ``name`` ends
    in ``.nii``; the header names the method, the output and the units."""
    text = f"HyperFusion {explanation.label} {explanation.target}: {explanation.units}"
    data = nifti_gz_bytes(img, text.replace("Δ", "d"))
    return gzip.decompress(data) if name.endswith(".nii") else data
