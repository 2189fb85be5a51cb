"""The shareable link: the current example subject and the EHR edits (the fields
that differ from that example's record) live in the page's query parameters, so
that a reload, or the link sent to a colleague, restores the same patient.

``?subject=SYN_0075&AGE=83&ABETA=unknown`` is example SYN_0075 with its age set to
83 and its amyloid-beta unknown. Uploaded images never go into the link (it
would carry health data): with an upload, the link keeps the EHR edits on the
record the upload started from. A link is read once per session, on its first
run (:func:`restore_once`); from then on the session's state writes the link
(:func:`sync`). Values that cannot be used give one warning line and the
example's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import streamlit as st

from hyperfusion.data.ehr_parsing import canonical_field, parse_value
from hyperfusion.data.ehr_schema import (
    FIELD_BY_NAME,
    FIELDS,
    UNKNOWN,
    EHRRecord,
    EHRValue,
)
from hyperfusion.data.examples import example_record, list_examples
from hyperfusion.errors import HyperFusionError
from hyperfusion.ui import state

SUBJECT = "subject"
MANAGED = frozenset({SUBJECT, *FIELD_BY_NAME})
_MAX_SHOWN = 3  # problems named in the warning; the rest are counted
_MAX_RAW = 40  # characters of a bad subject quoted back
PRIVACY_HELP = (
    "Copy the address to share this patient or come back to it: it names the "
    "example subject and the EHR fields you changed. An uploaded MRI stays in this "
    "session's memory only and is never put into the address."
)


def format_value(value: EHRValue) -> str:
    """A record value as it reads in a link.

    Example:
        >>> format_value(83.0), format_value(1.3413), format_value(None)
        ('83', '1.3413', 'unknown')
    """
    if value is None:
        return UNKNOWN
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def link_params(subject: str, record: EHRRecord) -> dict[str, str]:
    """The query parameters of a patient: the example and each field of
    ``record`` that differs from the example's own record, in schema order."""
    base = _example_record(subject)
    params = {SUBJECT: subject}
    for field in FIELDS:
        if record.get(field.name) != base.get(field.name):
            params[field.name] = format_value(record.get(field.name))
    return params


@lru_cache(maxsize=32)
def _example_values(subject: str) -> tuple[tuple[str, EHRValue], ...]:
    return tuple(example_record(subject).items())


def _example_record(subject: str) -> EHRRecord:
    """A copy of an example's record (parsed once per subject: ``sync`` asks for it
    on every edit)."""
    return dict(_example_values(subject))


def _examples() -> list[str]:
    return [str(p) for p in list_examples()["PTID"]]


def _last(raw: object) -> str:
    """One query value (a repeated parameter counts with its last value)."""
    if isinstance(raw, list | tuple):
        return str(raw[-1]) if raw else ""
    return str(raw)


def _subject(params: Mapping[str, object], problems: list[str]) -> str:
    """The link's example, or the first example (with a problem) when it names
    none of them."""
    examples = _examples()
    if SUBJECT not in params:
        return examples[0]
    raw = _last(params[SUBJECT]).strip()
    if raw in examples:
        return raw
    shown = raw if len(raw) <= _MAX_RAW else raw[: _MAX_RAW - 3] + "..."
    problems.append(
        f"subject {shown!r} is not a bundled example (accepted: "
        f"{', '.join(examples)}; {examples[0]} is shown)"
    )
    return examples[0]


def parse_link(params: Mapping[str, object]) -> tuple[str, EHRRecord, list[str]]:
    """The patient a link names: ``(subject, record, problems)``.

    Every parameter that cannot be used (an unknown subject or field, a value out
    of range, a required field set unknown) adds one problem and keeps the
    example's value.
    """
    problems: list[str] = []
    subject = _subject(params, problems)
    record = _example_record(subject)
    for key, raw in params.items():
        if key == SUBJECT or key.lower() in ("embed", "embed_options"):
            continue
        try:
            name = canonical_field(key)
            value = parse_value(name, _last(raw))
            if value is None and FIELD_BY_NAME[name].required:
                raise HyperFusionError(
                    f"{name} cannot be unknown; accepted: "
                    f"{FIELD_BY_NAME[name].accepted}"
                )
        except HyperFusionError as exc:
            problems.append(_clause(str(exc)))
            continue
        record[name] = value
    return subject, record, problems


def _clause(message: str) -> str:
    """An error message as a clause: ``"X; accepted: Y"`` reads ``"X (accepted:
    Y)"``.

    Example:
        >>> _clause("AGE = 'x' is not a number; accepted: a number in 18–100 years")
        "AGE = 'x' is not a number (accepted: a number in 18–100 years)"
    """
    head, sep, tail = message.partition("; accepted")
    return f"{head} (accepted{tail})" if sep else message


def warning_line(problems: list[str]) -> str:
    """One line naming the first few problems of a link and counting the rest.

    Example:
        >>> warning_line(["a", "b", "c", "d", "e"]).endswith("a; b; c; and 2 more.")
        True
    """
    shown = "; ".join(problems[:_MAX_SHOWN])
    more = len(problems) - _MAX_SHOWN
    extra = f"; and {more} more" if more > 0 else ""
    return (
        "This link could not be used in full, so the example's values stand in: "
        f"{shown}{extra}."
    )


def restore_once() -> None:
    """On a session's first run, make the link's patient the current one (a link
    without parameters leaves the default example); :func:`sync` then rewrites
    the link in the app's own spelling, dropping what could not be used."""
    ss = st.session_state
    if ss.get("link_read"):
        return
    ss["link_read"] = True
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    if not params:
        return
    subject, record, problems = parse_link(params)
    state.select_example(subject)
    state.set_ehr(record, origin=subject)
    st.query_params.clear()  # rewritten from the state by sync(), minus the unused
    if problems:
        ss["link_warning"] = warning_line(problems)


def canonical(key: str) -> str:
    """A parameter name as the link manages it (field names in any case)."""
    return key if key == SUBJECT else key.strip().upper()


def current_params() -> dict[str, str]:
    """The parameters of the session's patient (an upload: the example whose
    record its EHR started from)."""
    subject = state.current_subject()
    if state.is_upload(subject):
        subject = state.ehr_origin()
    return link_params(subject, state.current_ehr())


def sync() -> None:
    """Write the current patient into the page's query parameters (only the
    managed ones change, and only when they differ)."""
    wanted = current_params()
    shown = {k: st.query_params[k] for k in st.query_params if canonical(k) in MANAGED}
    if shown == wanted:
        return
    for key in shown:
        if key not in wanted:
            del st.query_params[key]
    st.query_params.update(wanted)


def show_warning() -> None:
    """The link's warning, once, as one line."""
    message = st.session_state.pop("link_warning", None)
    if message:
        st.warning(message, icon=":material/link_off:")


def caption() -> str:
    """What the sidebar says about the link."""
    if state.current_upload() is not None:
        return (
            "The address bar links to this EHR on "
            f"{state.ehr_origin()}'s image: uploaded images never go into a link."
        )
    return (
        "The address bar links to this patient (example and EHR edits). Uploaded "
        "images never go into a link."
    )
