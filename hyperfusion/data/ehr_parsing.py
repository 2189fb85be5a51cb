"""EHR parsing: raw user and file input to validated records (the boundary).

Everything a user types or uploads passes through here once: :func:`validate_ehr`
for one record (a dict from the UI or the CLI's ``--set`` pairs), and
:func:`records_from_dataframe` or :func:`read_ehr_csv` for a table. Values are parsed
against :data:`~hyperfusion.data.ehr_schema.FIELDS`; every failure is an
:class:`~hyperfusion.errors.InvalidEHRError` saying what was wrong and what is
accepted. Nothing downstream re-validates.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from hyperfusion.config import AD_CLASSES
from hyperfusion.data.ehr_schema import FIELD_BY_NAME, FIELDS, EHRField, EHRValue
from hyperfusion.errors import CohortError, InvalidEHRError

_UNKNOWN = frozenset({"", "unknown", "na", "n/a", "nan"})
_SEX = {"female": "Female", "f": "Female", "male": "Male", "m": "Male"}


def _show(raw: object) -> str:
    """A short one-line rendering of a raw value for error messages."""
    text = repr(raw) if isinstance(raw, str) else str(raw)
    text = text.replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."


def _is_unknown(raw: object) -> bool:
    if raw is None or raw is pd.NA:
        return True
    if isinstance(raw, str):
        return raw.strip().lower() in _UNKNOWN
    return (
        isinstance(raw, numbers.Real)
        and not isinstance(raw, numbers.Integral)
        and (math.isnan(float(raw)))
    )


def canonical_field(name: object) -> str:
    """The schema name of a field key (case and surrounding spaces ignored).

    >>> canonical_field(" age ")
    'AGE'
    """
    key = str(name).strip().upper()
    if key in FIELD_BY_NAME:
        return key
    hint = difflib.get_close_matches(key, list(FIELD_BY_NAME), n=1)
    suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
    raise InvalidEHRError(
        f"Unknown field {_show(str(name))}; accepted fields: "
        f"{', '.join(FIELD_BY_NAME)}{suffix}"
    )


def parse_value(field_name: str, raw: object) -> EHRValue:
    """Parse one raw value (number, string, ``None``, NaN) for a field.

    Numbers come back as ``float``, sex as ``"Female"``/``"Male"`` and unknown
    (``None``, ``""``, ``"unknown"``, NaN) as ``None``; whether a required field may be
    unknown is :func:`validate_ehr`'s decision. Censored CSF strings read as their
    bound (``">1700"`` is 1700.0). Raises :class:`InvalidEHRError` otherwise.

    >>> parse_value("ABETA", ">1700"), parse_value("PTGENDER", "f")
    (1700.0, 'Female')
    """
    field = FIELD_BY_NAME[canonical_field(field_name)]
    if _is_unknown(raw):
        return None
    if field.kind == "category":
        if isinstance(raw, str) and raw.strip().lower() in _SEX:
            return _SEX[raw.strip().lower()]
        why = "is ambiguous" if isinstance(raw, numbers.Number) else "is not a sex"
        raise InvalidEHRError(
            f"{field.name} = {_show(raw)} {why}; accepted: {field.accepted}"
        )
    return _parse_number(field, raw)


def _parse_number(field: EHRField, raw: object) -> float:
    def fail(problem: str) -> InvalidEHRError:
        return InvalidEHRError(f"{field.name} = {problem}; accepted: {field.accepted}")

    if isinstance(raw, numbers.Real) and not isinstance(raw, bool | np.bool_):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if field.censorable and text[:1] in ("<", ">"):
            text = text[1:].lstrip("=").strip()
        try:
            value = float(text)
        except ValueError:
            raise fail(f"{_show(raw)} is not a number") from None
    else:
        raise fail(f"{_show(raw)} is not a number")
    if not math.isfinite(value):
        raise fail(f"{_show(raw)} is not a finite number")
    unit = f" {field.unit}" if field.unit else ""
    if field.integer and value != round(value):
        raise fail(f"{value:g} is not a whole number")
    assert field.low is not None and field.high is not None
    if not field.low <= value <= field.high:
        raise fail(f"{value:g}{unit} is out of range")
    return value


def validate_ehr(
    values: Mapping[str, object], *, require: bool = True
) -> dict[str, EHRValue]:
    """A complete, parsed record: every field key present, ``None`` for unknown.

    Args:
        values: field name to raw value; absent fields are unknown.
        require: refuse an unknown AGE or PTGENDER (the app needs both).

    >>> validate_ehr({"AGE": "72", "PTGENDER": "M", "ABETA": "unknown"})["AGE"]
    72.0
    """
    record: dict[str, EHRValue] = dict.fromkeys(FIELD_BY_NAME)
    given: dict[str, object] = {}
    for key, raw in values.items():
        name = canonical_field(key)
        if name in given:
            raise InvalidEHRError(
                f"{name} is given twice (as {_show(given[name])} and {_show(key)}); "
                "accepted: each field once"
            )
        given[name] = key
        record[name] = parse_value(name, raw)
    if require:
        for field in FIELDS:
            if field.required and record[field.name] is None:
                raise InvalidEHRError(
                    f"{field.name} is required; accepted: {field.accepted}"
                )
    return record


def parse_assignment(text: str) -> tuple[str, EHRValue]:
    """Parse the CLI's ``--set FIELD=VALUE`` into a field name and a parsed value.

    >>> parse_assignment("apoe4=1")
    ('APOE4', 1.0)
    """
    name, sep, raw = text.partition("=")
    if not sep:
        raise InvalidEHRError(
            f"--set {_show(text)} has no '='; accepted: FIELD=VALUE such as AGE=72 "
            "or ABETA=unknown"
        )
    field = canonical_field(name)
    return field, parse_value(field, raw)


def parse_diagnosis(raw: object) -> str | None:
    """ADNI's DX as ``"CN"``, ``"MCI"`` or ``"AD"`` (``"Dementia"`` reads as AD).

    >>> parse_diagnosis("Dementia")
    'AD'
    """
    if _is_unknown(raw):
        return None
    key = str(raw).strip().upper()
    key = "AD" if key == "DEMENTIA" else key
    if key not in AD_CLASSES:
        raise InvalidEHRError(
            f"DX = {_show(raw)} is not a diagnosis; accepted: CN, MCI, AD "
            "(or ADNI's 'Dementia') or empty"
        )
    return key


def records_from_dataframe(
    df: pd.DataFrame, *, require: bool = False
) -> list[dict[str, EHRValue]]:
    """Validated records from a frame's field columns (absent columns: unknown).

    Other columns (PTID, DX, ...) are ignored. Errors name the row (data rows count
    from 1, the header excluded) and the PTID when there is one.
    """
    columns = [name for name in FIELD_BY_NAME if name in df.columns]
    rows = df[columns].to_dict("records")
    ids = df["PTID"].tolist() if "PTID" in df.columns else [None] * len(df)
    records = []
    for i, (row, ptid) in enumerate(zip(rows, ids, strict=True)):
        try:
            records.append(validate_ehr(row, require=require))
        except InvalidEHRError as exc:
            raise InvalidEHRError(f"{_row(i, ptid)}: {exc}") from exc
    return records


def _row(i: int, ptid: object) -> str:
    return f"row {i + 1}" + ("" if _is_unknown(ptid) else f" (PTID {ptid})")


def read_ehr_csv(path: str | PathLike[str]) -> pd.DataFrame:
    """Read and validate an ADNIMERGE-like CSV, one row per subject.

    Columns: PTID, AGE and PTGENDER (required), the other :data:`FIELDS` and DX
    (optional; absent means unknown); other columns are ignored. Returns a frame with
    columns PTID, the ten fields (numbers as float64 with NaN for unknown) and DX (CN,
    MCI, AD or None). Raises :class:`CohortError` for an unreadable file or missing
    columns and :class:`InvalidEHRError` naming the row and column of a bad value.
    """
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise CohortError(
            f"EHR file {path} does not exist; accepted: an ADNIMERGE-like CSV"
        ) from None
    except (OSError, ValueError) as exc:  # also parser and decoding errors
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CohortError(
            f"{path} is not a readable CSV ({reason}); accepted: an ADNIMERGE-like CSV"
        ) from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    absent = [c for c in ("PTID", "AGE", "PTGENDER") if c not in raw.columns]
    if absent:
        raise CohortError(
            f"{path} has no column {', '.join(absent)}; accepted: a CSV with columns "
            f"PTID, {', '.join(FIELD_BY_NAME)} (only PTID, AGE and PTGENDER "
            "required) and optionally DX"
        )
    records = records_from_dataframe(raw, require=True)
    ptids: list[str] = []
    first_row: dict[str, int] = {}
    dx: list[str | None] = []
    for i, row in enumerate(raw.to_dict("records")):
        ptid = row["PTID"].strip() if isinstance(row["PTID"], str) else ""
        if not ptid:
            raise InvalidEHRError(f"{_row(i, None)}: PTID is empty; accepted: an ID")
        if ptid in first_row:
            raise InvalidEHRError(
                f"{_row(i, ptid)}: PTID repeats row {first_row[ptid] + 1}; accepted: "
                "one row per subject (e.g. the baseline visit)"
            )
        first_row[ptid] = i
        ptids.append(ptid)
        try:
            dx.append(parse_diagnosis(row.get("DX")))
        except InvalidEHRError as exc:
            raise InvalidEHRError(f"{_row(i, ptid)}: {exc}") from exc
    columns: dict[str, Any] = {"PTID": ptids}
    for field in FIELDS:
        values = [r[field.name] for r in records]
        if field.kind == "number":
            values = [np.nan if v is None else v for v in values]
            columns[field.name] = np.asarray(values, dtype=np.float64)
        else:
            columns[field.name] = pd.Series(values, dtype=object)
    columns["DX"] = pd.Series(dx, dtype=object)
    return pd.DataFrame(columns)


__all__ = [
    "canonical_field",
    "parse_assignment",
    "parse_diagnosis",
    "parse_value",
    "read_ehr_csv",
    "records_from_dataframe",
    "validate_ehr",
]
