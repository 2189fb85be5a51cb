"""Download buttons: the prediction with its EHR, and a map in the input's own space.

Files are made in memory (:mod:`hyperfusion.export`) and named after the subject;
a click does not rerun the page.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from hyperfusion.ui import cached, state


def prediction_downloads(prediction: Any) -> None:
    """JSON and CSV of the prediction with the EHR it was made from and, for an
    upload, its preprocessing steps and figures (made when a button is clicked, so
    an edit does not serialise them)."""
    from hyperfusion import export

    ehr, subject, stem = state.current_ehr(), state.subject_label(), state.file_stem()
    pre = cached.current_image().preprocessing  # an upload's steps and figures
    steps = None if pre is None else pre.report.to_dict()
    c1, c2 = st.columns(2)
    c1.download_button(
        "Prediction + EHR (JSON)",
        lambda: export.prediction_json(prediction, ehr, subject, steps),
        file_name=f"{stem}_prediction.json",
        mime="application/json",
        icon=":material/download:",
        on_click="ignore",
    )
    c2.download_button(
        "Prediction + EHR (CSV)",
        lambda: export.prediction_csv(prediction, ehr, subject, steps),
        file_name=f"{stem}_prediction.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
