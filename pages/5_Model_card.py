"""Model card: the data, the training, the measured quality, the intended use and the
preprocessing contract of the shipped models."""

from __future__ import annotations

import streamlit as st

from hyperfusion import ui
from hyperfusion.modelcard import card, measured
from hyperfusion.viz import metrics as charts

ui.page_header(
    "Model card",
    "What the shipped models are, what they were trained on, how well they do, and "
    "what they must not be used for.",
    models_of=("ad", "brain-age"),
)
st.container(border=True).markdown(card.NOT_A_MEDICAL_DEVICE)

engine, metrics, cards = ui.get_engine(), None, {}
with ui.run_safely("The model files"):
    metrics = measured.load_metrics()
    for task in ("ad", "brain-age"):
        for name in engine.model_names(task):
            label = f"{measured.model_label(task, name)} ({task})"
            cards[label] = card.ensemble_cards(engine.checkpoints(task, name))

with ui.run_safely("The data"):
    st.header("Data")
    st.markdown(card.DATA_DESCRIPTION)
    all_cards = [c for e in cards.values() for c in e]
    cohort = card.cohort_table(metrics, all_cards)
    left, right = st.columns([3, 2] if len(cohort) else [2, 3], gap="large")
    counts = card.class_counts(metrics, all_cards)
    with right if len(cohort) else left:
        if counts is None:
            counts = card.design_class_fractions()
            st.caption("Class proportions: the generator's design target.")
        else:
            st.caption("Class proportions in the AD cohort.")
        ui.chart(charts.class_proportions_figure(counts), key="card_classes")
    with left if len(cohort) else right:
        if len(cohort):
            st.table(cohort.set_index("item").rename_axis(None))
            if note := card.cohort_note(metrics):
                st.caption(note)
        else:
            st.caption(
                "No training cohort recorded yet: its size and splits appear here "
                "once a model has been trained."
            )

with ui.run_safely("The training"):
    st.header("Training")
    st.caption(
        "One row per model: the ensemble's seeds, its size and input grid, and the "
        "settings recorded in its checkpoint cards."
    )
    training = card.training_table(cards)
    st.dataframe(training, hide_index=True, height="content", key="card_train")

with ui.run_safely("The metrics"):
    st.header("Metrics")
    if metrics is None:
        st.caption(measured.NO_METRICS)
    for task, title in (("ad", "CN / MCI / AD"), ("brain-age", "Brain age")):
        table = measured.metrics_table(metrics, task)
        if len(table):
            st.markdown(f"**{title}**")
            shown = measured.format_metrics_table(table, task)
            st.dataframe(shown, hide_index=True, key=f"card_metrics_{task}")
        elif metrics is not None:
            st.markdown(f"**{title}**")
            st.caption("Not measured yet.")
    checks = measured.acceptance_table(metrics)
    if len(checks):
        st.markdown("**Acceptance checks** (the targets set for the shipped models)")
        st.dataframe(checks, hide_index=True, key="card_checks")
    ad_models = engine.model_names("ad")
    pick = st.multiselect(
        "Models for the confusion matrices and reliability diagram",
        ad_models,
        default=["hyperfusion", "image-only"],
        max_selections=3,
        format_func=lambda n: measured.model_label("ad", n),
        key="card_models",
        help="Confusion matrices count test subjects, pooled over a model's seeds.",
    )
    matrices = {n: measured.confusion_matrix(metrics, n) for n in pick}
    cols = st.columns(max(len(pick), 1))
    for col, (name, found) in zip(cols, matrices.items(), strict=False):
        with col:
            label = measured.model_label("ad", name)
            if found is None:
                st.info(f"{label}: no confusion matrix recorded yet.")
            else:
                fig = charts.confusion_figure(found[0], found[1], title=label)
                ui.chart(fig, key=f"card_cm_{name}")
    curves = measured.reliability_curves(metrics, pick)
    plot, text = st.columns([3, 2], gap="large", vertical_alignment="center")
    if curves:
        with plot:
            ui.chart(charts.reliability_figure(curves), key="card_reliability")
    else:
        plot.info("Reliability diagram: no calibration bins recorded yet.")
    text.markdown(card.RELIABILITY_HELP)

with ui.run_safely("Intended use"):
    st.header("Intended use and limits")
    st.markdown(card.INTENDED_USE)

with ui.run_safely("The preprocessing contract"):
    st.header("Preprocessing contract for uploads")
    contract = card.preprocessing_contract(engine.grid("ad"), engine.grid("brain-age"))
    st.markdown(card.contract_markdown(contract))
