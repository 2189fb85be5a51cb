"""How the what-if builders write an EHR field: its axis label with the unit, and a
value of it as text."""

from __future__ import annotations

from hyperfusion.data.ehr_schema import EHRField


def axis_title(field: EHRField) -> str:
    """A field's axis label with its unit, e.g. ``"Age (years)"`` (no unit when the
    label already names it: ``"APOE4 alleles"``)."""
    if not field.unit or field.unit.lower() in field.label.lower():
        return field.label
    return f"{field.label} ({field.unit})"


def format_value(field: EHRField, value: object) -> str:
    """A field value as text with its unit; ``None`` reads ``"unknown"``.

    >>> from hyperfusion.data.ehr_schema import FIELD_BY_NAME
    >>> fdg, age = FIELD_BY_NAME["FDG"], FIELD_BY_NAME["AGE"]
    >>> format_value(fdg, 1.234), format_value(age, None)
    ('1.23 SUVR', 'unknown')
    """
    if value is None:
        return "unknown"
    if field.kind == "category":
        return str(value)
    number = float(value)  # type: ignore[arg-type]
    step = field.step or 1
    text = f"{number:.2f}" if step < 1 else f"{number:.0f}"
    return f"{text} {field.unit}" if field.unit else text


__all__ = ["axis_title", "format_value"]
