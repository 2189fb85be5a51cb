"""Editors of EHR records: the record being edited, its reset, and scenario B.

Each widget's ``on_change`` writes into a plain dict in session state (``ehr``,
``scenario_b``); the widgets only show it, so edits survive visits to pages without
them. Every editor returns the record it edits.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from hyperfusion.data.ehr_parsing import validate_ehr
from hyperfusion.data.ehr_schema import (
    FIELD_BY_NAME,
    FIELDS,
    INPUT_FIELDS,
    UNKNOWN,
    EHRRecord,
)
from hyperfusion.errors import HyperFusionError
from hyperfusion.ui import state


def _widget_key(name: str, suffix: str = "") -> str:
    return f"ehr_{name}{suffix}_v{st.session_state.get('ehr_version', 0)}"


def _write_field(name: str) -> None:
    """on_change: copy one widget's value into the EHR dict, validating it (an
    emptied box is an unknown value)."""
    ss = st.session_state
    try:
        ss["ehr"] = validate_ehr(
            {**ss["ehr"], name: ss.get(_widget_key(name))}, require=False
        )
        ss.pop("ehr_error", None)
    except HyperFusionError as exc:
        ss["ehr_error"] = str(exc)


def ehr_editor(columns: int = 2, show_context: bool = True) -> EHRRecord:
    """Edit every EHR field (unit, range, help; an optional field's box left empty
    is unknown); returns the record. Values live in ``session_state['ehr']``,
    never only in widgets.

    One widget per field: an edit reruns the editor with its fragment, and each
    widget costs the browser time to resend and redraw (an 'unknown' checkbox
    per field made 18 widgets of 10)."""
    state.init_state()
    record = st.session_state["ehr"]
    fields = [f for f in FIELDS if show_context or f.role == "input"]
    cols = st.columns(columns)
    for i, field in enumerate(fields):
        with cols[i % columns]:
            _value_widget(
                field,
                record.get(field.name),
                key=_widget_key(field.name),
                on_change=_write_field,
                allow_unknown=not field.required,
            )
    if "ehr_error" in st.session_state:
        st.error(st.session_state["ehr_error"])
    return state.current_ehr()


def _value_widget(
    field: Any, value: Any, key: str, on_change: Any, allow_unknown: bool = False
) -> None:
    """One field's value widget (selectbox or number input with unit and help);
    ``on_change(field.name)`` runs when the user edits it. ``allow_unknown``: a
    number box may be emptied, which means not measured."""
    shown_unit = field.unit and field.unit.lower() not in field.label.lower()
    unit = f" ({field.unit})" if shown_unit else ""
    context = " — context only, not a model input" if field.role == "context" else ""
    empty = (
        " Leave empty if it was not measured: the model imputes it and sees a "
        "missing-value flag."
    ) * allow_unknown
    help_text = f"{field.description} Accepted: {field.accepted}.{context}{empty}"
    common = {"key": key, "on_change": on_change, "args": (field.name,)}
    label = f"{field.label}{unit}"
    if field.kind == "category":
        options = list(field.choices)
        index = options.index(value) if value in options else 0
        st.selectbox(label, options, index=index, help=help_text, **common)
        return
    number = int if field.integer else float
    if value is None and not allow_unknown:
        value = (field.low + field.high) / 2
    shown = None if value is None else number(round(value) if field.integer else value)
    if allow_unknown:
        # Streamlit reads an emptied box as the widget's default: the default is
        # empty, and the box starts at the record's value through its state.
        if key not in st.session_state:
            st.session_state[key] = shown
        shown = None
    st.number_input(
        label,
        min_value=number(field.low),
        max_value=number(field.high),
        value=shown,
        step=number(field.step or 1) if field.integer else float(field.step or 0.1),
        format=None if field.integer else ("%.2f" if (field.step or 1) < 1 else "%.0f"),
        placeholder=UNKNOWN if allow_unknown else None,
        help=help_text,
        **common,
    )


def reset_button() -> None:
    """'Reset to this subject's record' (the example whose record was loaded)."""
    st.button(
        "Reset to this subject's record",
        on_click=state.reset_ehr,
        help=f"Reload the EHR of {state.ehr_origin()}, undoing every edit.",
        icon=":material/restart_alt:",
    )


# Scenario B ------------------------------------------------------------------------


def scenario_b(max_fields: int = 2) -> EHRRecord:
    """Edit one or two fields of a scenario B (the current EHR otherwise); returns
    B's record. The changed fields live in ``session_state['scenario_b']``."""
    ss = st.session_state
    base = state.current_ehr()
    if "scenario_b" not in ss:
        ss["scenario_b"] = {"APOE4": _contrast("APOE4", base.get("APOE4"))}
    overrides: dict[str, Any] = ss["scenario_b"]
    st.multiselect(
        "Fields that differ in scenario B",
        [f.name for f in INPUT_FIELDS],
        default=[n for n in overrides if n in FIELD_BY_NAME][:max_fields],
        max_selections=max_fields,
        format_func=lambda n: FIELD_BY_NAME[n].label,
        key="scenario_fields",
        on_change=_on_scenario_fields,
    )
    for col, name in zip(st.columns(max_fields), list(overrides), strict=False):
        with col:
            _value_widget(
                FIELD_BY_NAME[name],
                overrides[name],
                key=f"scenario_{name}",
                on_change=_write_scenario,
            )
    return validate_ehr({**base, **overrides}, require=False)


def _contrast(name: str, value: Any) -> Any:
    """A starting value for scenario B: the other sex, or the far end of the range."""
    f = FIELD_BY_NAME[name]
    if f.kind == "category":
        return next((c for c in f.choices if c != value), f.choices[0])
    mid = (f.low + f.high) / 2
    return f.low if value is not None and value > mid else f.high


def _on_scenario_fields() -> None:
    ss = st.session_state
    chosen = ss.get("scenario_fields") or []
    old = ss.get("scenario_b", {})
    record = state.current_ehr()
    ss["scenario_b"] = {
        n: old[n] if n in old else _contrast(n, record.get(n)) for n in chosen
    }


def _write_scenario(name: str) -> None:
    ss = st.session_state
    ss["scenario_b"] = {**ss.get("scenario_b", {}), name: ss[f"scenario_{name}"]}
