"""Fusion strategies: where each method lets the MRI and the EHR meet, what every
shipped model says about the current patient, how well each one measured, and what
happens when a modality is missing.

Every model's prediction is cached per patient, and the missing-modality controls
rerun only their own section (a fragment). The bar charts are light HTML
(``st.html``), not plotly: each plotly chart costs about 100-150 ms of browser time
per page render on a 2-core CPU."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from hyperfusion.data.ehr_schema import FIELD_BY_NAME, INPUT_FIELDS
from hyperfusion.modelcard import compare, measured
from hyperfusion.tasks import AD, BRAIN_AGE
from hyperfusion.ui import cached, page, panels, state
from hyperfusion.viz import metrics as charts

DIAGRAMS = Path(__file__).resolve().parents[1] / "assets" / "fusion"
STRATEGIES = ("early-fusion", "concat", "late-fusion", "attention", "film", "daft")
SVG = {"early-fusion": "early", "late-fusion": "late", "hyperfusion": "hyperfusion"}
page.page_header(
    "Fusion strategies",
    "Seven ways to combine a brain MRI with a health record, from stacking them as "
    "image channels to letting the record write the image network's weights.",
    models_of=(AD.name,),
)
engine, record = cached.get_engine(), state.current_ehr()
with page.run_safely("The MRI"):
    cached.current_image()  # an unusable image says so once, here

with page.run_safely("The strategies"):
    st.subheader("Where the MRI and the EHR meet")
    st.caption(
        "Blue: the MRI path · purple: the EHR path · dark box: where they meet. "
        "Each diagram is the network shipped under that name."
    )
    catalogue = compare.model_catalogue(AD.name).set_index("model")
    cells = st.columns(2, gap="medium")
    for i, name in enumerate((*STRATEGIES, "hyperfusion")):
        spec = catalogue.loc[name]
        with cells[i % 2].container(border=True):
            st.markdown(f"**{spec['label']}** · {spec['stage']}")
            st.image(str(DIAGRAMS / f"{SVG.get(name, name)}.svg"), width="stretch")
            st.caption(spec["description"])
    with cells[1].container(border=True):
        st.markdown("**Baselines** · single modality")
        for name in ("image-only", "tabular-only"):
            spec = catalogue.loc[name]
            st.markdown(f"*{spec['label']}*: {spec['description']}")

names = engine.model_names(AD.name)
full: dict = {}
with page.run_safely("Every model on this patient"):
    st.subheader("Every model on the current patient")
    with st.spinner("Running every model…"):
        full = {n: cached.model_prediction(record, n) for n in names}
    table = compare.predictions_table(full)
    panels.probability_table(table.drop(columns="model"), key="fusion_models")
    st.html(charts.model_probabilities_html(table))
    st.caption(
        "Error bars: ±1 SD over each model's training seeds; a model with one seed "
        "has none."
        if (table["seeds"] > 1).any()
        else "Every model has a single training seed so far: no spread to show."
    )

with page.run_safely("The measured metrics"):
    st.subheader("Measured on the held-out synthetic test set")
    metrics = measured.load_metrics()
    if metrics is None:
        st.info(measured.NO_METRICS, icon=":material/hourglass_empty:")
    else:
        ad = measured.metrics_table(metrics, AD.name)
        st.dataframe(measured.format_metrics_table(ad, AD.name), hide_index=True)
        st.html(
            charts.metric_bars_html(
                ad, "balanced_accuracy", "balanced accuracy (CN / MCI / AD)", 1 / 3
            )
        )
        age = measured.metrics_table(metrics, BRAIN_AGE.name)
        if len(age):
            st.markdown("**Brain age**")
            st.dataframe(
                measured.format_metrics_table(age, BRAIN_AGE.name), hide_index=True
            )


@st.fragment
def missing_modalities(record: dict, full: dict, names: list[str]) -> None:
    """Every model with chosen EHR fields unknown, and the EHR-only model without
    the image; the field choice reruns only this section."""
    with page.run_safely("Missing modalities"):
        st.subheader("Missing modalities")
        hide = st.multiselect(
            "EHR fields set unknown",
            [f.name for f in INPUT_FIELDS if not f.required],
            default=["ABETA", "PTAU", "TAU", "FDG", "AV45"],
            format_func=lambda n: FIELD_BY_NAME[n].label,
            key="fusion_hide",
            help="Unknown fields are imputed from the others and flagged as missing.",
        )
        hidden_record = compare.with_unknown(record, hide)
        if hide and all(record.get(n) is None for n in hide):
            st.info(
                "These fields are already unknown in the current record: hide others"
            )
        hidden = {n: cached.model_prediction(hidden_record, n) for n in names}
        panels.probability_table(compare.missing_table(full, hidden), "fusion_missing")
        st.caption(
            "Probabilities with the chosen fields unknown. Shift: how far the "
            "prediction moved (half the summed absolute change, 0–1); Δ sd: how much "
            "the seeds' spread grew (more uncertain) or shrank."
        )
        st.markdown("**Without the image**: only the EHR-only model can predict.")
        no_image = {
            label: cached.model_prediction(rec, "tabular-only", with_image=False)
            for label, rec in (
                ("EHR only, full record", record),
                ("EHR only, fields hidden", hidden_record),
            )
        }
        rows = compare.predictions_table(no_image)
        rows = rows.drop(columns=["model", "stage", "seeds"])
        panels.probability_table(rows, key="fusion_no_image", label="input")


if full:
    missing_modalities(record, full, list(names))
