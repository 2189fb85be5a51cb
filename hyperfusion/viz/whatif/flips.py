"""The smallest change of one field that flips the diagnosis, as a table: one row
per field, the fields that flip first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hyperfusion.data.ehr_schema import INPUT_FIELDS
from hyperfusion.viz.whatif.labels import axis_title, format_value

NO_FLIP = "no value in range flips it"


def flip_table(
    record: Mapping[str, object], flips: Mapping[str, Mapping[str, Any] | None]
) -> pd.DataFrame:
    """The smallest change of one field that flips the diagnosis, per field.

    Args:
        record: the current EHR record.
        flips: field name → ``Engine.smallest_flip`` result (``None``: no flip).

    Returns:
        Columns ``field``, ``current``, ``flip value``, ``change``, ``diagnosis``
        (``"CN → MCI"`` or :data:`NO_FLIP`) and ``name`` (the field's column name).
        Fields that flip come first, the smallest change relative to the field's
        range first.
    """
    by_name = {f.name: f for f in INPUT_FIELDS}
    rows = []
    for name, flip in flips.items():
        f = by_name[name]
        now = record.get(name)
        row = {"name": name, "field": axis_title(f), "current": format_value(f, now)}
        if flip is None:
            row.update({"flip value": "—", "change": "—", "diagnosis": NO_FLIP})
            row["_order"] = np.inf
        else:
            change = flip.get("change")
            row["flip value"] = format_value(f, flip["value"])
            if change is None:
                row["change"] = "set" if now is None else f"{now} → {flip['value']}"
                row["_order"] = 0.5
            else:
                sign = "+" if change > 0 else "−"
                row["change"] = sign + format_value(f, abs(change))
                row["_order"] = abs(change) / (float(f.high) - float(f.low))
            row["diagnosis"] = f"{flip['from']} → {flip['to']}"
        rows.append(row)
    columns = ["field", "current", "flip value", "change", "diagnosis", "name"]
    if not rows:
        return pd.DataFrame(columns=columns)
    df = pd.DataFrame(rows).sort_values("_order", kind="stable")
    return df[columns].reset_index(drop=True)


__all__ = ["NO_FLIP", "flip_table"]
