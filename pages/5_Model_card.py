"""Model card: the data, the training, the measured quality, the intended use and the
preprocessing contract of the shipped models.

Confusion matrices are HTML tables (``html_heatmaps.confusion_table_html``) and the
class proportions HTML bars (``metrics.class_proportions_html``), not plotly: a
plotly chart costs about 100-150 ms of browser time per page render on a 2-core CPU,
and the table and the bars' labels show every number a hover would.
"""

from __future__ import annotations

import streamlit as st

from hyperfusion.modelcard import card, measured
from hyperfusion.models.registry import model_label
from hyperfusion.tasks import AD, BRAIN_AGE, TASK_NAMES, TASKS
from hyperfusion.ui import cached, maps, page, panels
from hyperfusion.viz import metrics as charts
from hyperfusion.viz.html_heatmaps import confusion_table_html

page.page_header(
    "Model card",
    "What the shipped models are, what they were trained on, how well they do, and "
    "what they must not be used for.",
    models_of=TASK_NAMES,
)
st.container(border=True).markdown(card.NOT_A_MEDICAL_DEVICE)

engine, metrics, cards = cached.get_engine(), None, {}
with page.run_safely("The model files"):
    metrics = measured.load_metrics()
    for task in TASK_NAMES:
        for name in engine.model_names(task):
            label = f"{model_label(task, name)} ({task})"
            cards[label] = card.ensemble_cards(engine.checkpoints(task, name))

with page.run_safely("The data"):
    st.header("Data")
    st.markdown(card.DATA_DESCRIPTION)
    all_cards = [c for e in cards.values() for c in e]
    cohort = card.cohort_table(metrics, all_cards)
    left, right = st.columns([3, 2] if len(cohort) else [2, 3], gap="large")
    counts = card.class_counts(all_cards)
    with right if len(cohort) else left:
        if counts is None:
            counts = card.design_class_fractions()
            st.caption("Class proportions: the generator's design target.")
        else:
            st.caption("Class proportions in the AD cohort.")
        st.html(charts.class_proportions_html(counts))
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

with page.run_safely("The training"):
    st.header("Training")
    st.caption(
        "One row per model: the ensemble's seeds, its size and input grid, and the "
        "settings recorded in its checkpoint cards."
    )
    training = card.training_table(cards)
    st.dataframe(training, hide_index=True, height="content", key="card_train")

with page.run_safely("The metrics"):
    st.header("Metrics")
    if metrics is None:
        st.caption(measured.NO_METRICS)
    for task in TASKS.values():
        table = measured.metrics_table(metrics, task.name)
        if len(table):
            st.markdown(f"**{task.title}**")
            shown = measured.format_metrics_table(table, task.name)
            st.dataframe(shown, hide_index=True, key=f"card_metrics_{task.name}")
        elif metrics is not None:
            st.markdown(f"**{task.title}**")
            st.caption("Not measured yet.")
    transfer = measured.transfer_table(metrics)
    if len(transfer):
        st.markdown(
            "**Brain age on the AD cohort** (the brain-age model on the SYNTHETIC AD "
            f"cohort's test subjects, as the app applies it; {card.CONTRACT_NOTE})"
        )
        st.dataframe(transfer, hide_index=True, key="card_transfer")
    checks = measured.acceptance_table(metrics)
    if len(checks):
        st.markdown("**Acceptance checks** (the targets set for the shipped models)")
        st.dataframe(checks, hide_index=True, key="card_checks")
    ad_models = engine.model_names(AD.name)
    pick = st.multiselect(
        "Models for the confusion matrices and reliability diagram",
        ad_models,
        default=["hyperfusion", "image-only"],
        max_selections=3,
        format_func=lambda n: model_label(AD.name, n),
        key="card_models",
        help="Confusion matrices count test subjects, pooled over a model's seeds.",
    )
    matrices = {n: measured.confusion_matrix(metrics, n) for n in pick}
    cols = st.columns(max(len(pick), 1))
    for col, (name, found) in zip(cols, matrices.items(), strict=False):
        with col:
            label = model_label(AD.name, name)
            if found is None:
                st.info(f"{label}: no confusion matrix recorded yet.")
            else:
                st.html(confusion_table_html(found[0], found[1], title=label))
    curves = measured.reliability_curves(metrics, pick)
    plot, text = st.columns([3, 2], gap="large", vertical_alignment="center")
    if curves:
        with plot:
            panels.chart(charts.reliability_figure(curves), key="card_reliability")
    else:
        plot.info("Reliability diagram: no calibration bins recorded yet.")
    text.markdown(card.RELIABILITY_HELP)

with page.run_safely("The explanation maps"):
    st.markdown("**Explanation maps**: how far each can be trusted (HyperFusion-AD)")
    maps.quality_panel(maps.quality_block(), method="")

with page.run_safely("Intended use"):
    st.header("Intended use and limits")
    st.markdown(card.INTENDED_USE)

with page.run_safely("The preprocessing contract"):
    st.header("Preprocessing contract for uploads")
    contract = card.preprocessing_contract(
        engine.grid(AD.name), engine.grid(BRAIN_AGE.name)
    )
    st.markdown(card.contract_markdown(contract))
