"""Hypernetwork: the weights HyperFusion generated from this patient's EHR.

The weight matrices and the channel-norm sweep are images in light HTML
(:mod:`hyperfusion.viz.weights`, :mod:`hyperfusion.viz.html_heatmaps`), not plotly
heatmaps, and the embedding's bars are HTML too (:mod:`hyperfusion.viz.charts`):
each plotly chart cost about 100-150 ms of browser time per page render on a 2-core
CPU. The matrices' values show as colour only (no hover read-out); each bar is
labelled with its value.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from hyperfusion.data.ehr_schema import FIELD_BY_NAME, INPUT_FIELDS
from hyperfusion.tasks import BRAIN_AGE
from hyperfusion.ui import cached, page, scrub, state
from hyperfusion.viz.charts import embedding_bars_html
from hyperfusion.viz.html_heatmaps import channel_norm_html
from hyperfusion.viz.weights import weight_heatmaps_html

page.page_header(
    "Hypernetwork",
    "What the hypernetwork generated from this patient's EHR, and how it moves.",
)
st.markdown(
    "A **hyper layer** does not have one fixed weight matrix: it computes one per "
    "patient, **W(t) = A·e(t) + B**. The EHR vector t is first squeezed into a short "
    "embedding **e(t)** (d_k numbers); **A** maps it to a weight offset and **B** is "
    "a shared weight every patient gets. Because A·e(t) is built from d_k numbers, "
    "the patient-specific part **W(t) − B has rank at most d_k**: the EHR steers "
    "the layer along a few learned directions rather than rewriting it."
)
engine, ehr = cached.get_engine(), state.current_ehr()

with page.run_safely("The AD hyper layer"):
    st.subheader("AD model: the generated shortcut of block 4")
    view = engine.hyper_weights(ehr)[0]
    d_k, (n_out, n_in) = view.embedding.size, view.weight.shape
    st.markdown(
        f"Only one layer of the CN / MCI / AD network is generated: the 1×1×1 "
        f"shortcut convolution of block 4 (`{view.name}`), a {n_out} × {n_in} "
        f"matrix mixing {n_in} image feature channels into {n_out}. Its embedding "
        f"has d_k = {d_k} dimensions. The **reference patient** is the training "
        "cohort's median patient."
    )
    matrices = {
        "W(t)": ("W(t): this patient's weights", view.weight),
        "B": ("B: the shared weight every patient gets", view.shared),
        "W(t) − B": ("W(t) − B = A·e(t): the EHR-driven part", view.offset),
        "W(t) − W(ref)": ("W(t) − W(ref): vs the reference patient", view.difference),
    }
    size = float(np.linalg.norm(view.shared)) or 1.0
    c1, c2, c3 = st.columns(3)
    c1.metric("‖W(t) − B‖ / ‖B‖", f"{np.linalg.norm(view.offset) / size:.1%}")
    c2.metric("‖W(t) − W(ref)‖ / ‖B‖", f"{np.linalg.norm(view.difference) / size:.1%}")
    c3.metric("Rank of W(t) − B", f"≤ {min(d_k, n_out, n_in)}")
    left, right = st.columns([3, 2], gap="large")
    with left:
        shown = st.segmented_control(
            "Matrix", list(matrices), default=list(matrices)[0], required=True
        )
        title, matrix = matrices[shown]
        st.html(weight_heatmaps_html([matrix], [title]))
        st.caption(
            "Rows: output channels; columns: input channels; colour = weight, "
            "red > 0 > blue (an image: no values on hover)."
        )
    with right:
        st.html(embedding_bars_html(view.embedding, view.reference_embedding))
        st.caption("e(t) is all the EHR information the layer receives.")

with page.run_safely("The channel-norm sweep"):
    st.subheader("Slide one field: how the generated weights respond")
    names = [f.name for f in INPUT_FIELDS]
    name = st.selectbox(
        "Field",
        names,
        index=names.index("PTAU"),
        format_func=lambda n: FIELD_BY_NAME[n].label,
        key="sweep_field",
    )
    f = FIELD_BY_NAME[name]
    values = (
        list(f.choices)
        if f.kind == "category"
        else np.linspace(f.low, f.high, 41).tolist()
    )
    norms = engine.channel_norms_sweep(ehr, name, values)
    st.html(channel_norm_html(values, norms, f.label, f.unit, ehr.get(name)))
    st.caption(
        f"Each row is one output channel c of `{view.name}`; colour is the length "
        f"‖Wc(t)‖₂ of its generated weights as {f.label} moves over its range with "
        "every other field held at this patient's values. Channels whose colour "
        "changes are the ones this field steers."
    )
    st.markdown(f"**Scrub {f.label}: the weights and the predictions follow**")
    scrub.scrubber(cached.current_image(), ehr, name, key="hyper_scrub")

with page.run_safely("The brain-age hyper layers"):
    st.subheader("Brain-age model: the weights for women and for men")
    st.markdown(
        "The brain-age network ends in four hyper fully connected layers conditioned "
        "on sex only: each has a one-number embedding of the sex one-hot, initialised "
        "so that both sexes start identical. Training can then give women and men "
        "different weights where their brains age differently."
    )
    female = engine.hyper_weights({**ehr, "PTGENDER": "Female"}, task=BRAIN_AGE)
    male = engine.hyper_weights({**ehr, "PTGENDER": "Male"}, task=BRAIN_AGE)
    layers = {v.name: (v, m) for v, m in zip(female, male, strict=True)}
    layer = st.segmented_control("Layer", list(layers), default="fc2", required=True)
    w_f, w_m = (v.weight for v in layers[layer])
    st.html(weight_heatmaps_html([w_f, w_m], ["Female", "Male"]))
    gap = float(np.abs(w_m - w_f).max())
    if gap == 0:
        st.info("Women and men get identical weights here (the untrained start).")
    else:
        st.html(weight_heatmaps_html([w_m - w_f], ["Male − Female"]))
