"""What if: sweep one EHR field over its range, compare two scenarios, and find the
smallest change of one field that flips the diagnosis.

The scenarios' probabilities are light HTML bars (``st.html``), not a plotly chart:
each plotly chart costs about 100-150 ms of browser time per page render on a 2-core
CPU. The sweep and the scrubber stay plotly (lines, bands and animation frames)."""

from __future__ import annotations

import streamlit as st

from hyperfusion.data.ehr_schema import FIELD_BY_NAME, INPUT_FIELDS
from hyperfusion.tasks import AD
from hyperfusion.ui import cached, editors, page, panels, scrub, state
from hyperfusion.viz import whatif
from hyperfusion.viz.charts import spread_label

page.page_header(
    "What if",
    "Move one EHR field across its whole range, compare two versions of the record, "
    "and see which single change would flip the diagnosis.",
)

engine, record, image, name = cached.get_engine(), state.current_ehr(), None, None
with page.run_safely("The MRI"):
    image = cached.current_image()

with page.run_safely("The sweep"):
    st.subheader("Sweep one field")
    fields = whatif.sweepable_fields()
    pick, note = st.columns([1, 2], vertical_alignment="bottom")
    name = pick.selectbox(
        "Field to sweep",
        [f.name for f in fields],
        format_func=lambda n: whatif.axis_title(FIELD_BY_NAME[n]),
        key="whatif_field",
        help="Every other field keeps its current value.",
    )
    field = FIELD_BY_NAME[name]
    values = whatif.sweep_values(field)
    sweep, sweep_ms = scrub.sweep(image, record, name, values)
    n_seeds = len(engine.checkpoints(AD.name))
    note.caption(
        f"{len(values)} values of {field.label} in one batched pass "
        f"({sweep_ms:.0f} ms). {spread_label(n_seeds, 'Bands')} "
        "The dotted line marks the current value."
    )
    panels.chart(scrub.sweep_figure(image, record, name, values), key="whatif_sweep")
    with st.expander("Sweep values as a table"):
        st.dataframe(sweep, hide_index=True, key="whatif_sweep_table")

with page.run_safely("The scrubber"):
    if name is not None:
        st.subheader(f"Scrub {FIELD_BY_NAME[name].label}: everything follows")
        scrub.scrubber(image, record, name, key="whatif_scrub")

with page.run_safely("The scenarios"):
    st.subheader("Scenario A (current record) vs scenario B")
    st.caption(
        "B is the current record with one or two fields changed; A follows every "
        "edit on the Patient page. B is shared with the Explain page."
    )
    record_b = editors.scenario_b()
    pred_a = engine.predict(image, record).to_dict()
    pred_b = engine.predict(image, record_b).to_dict()
    left, right = st.columns([1, 1], gap="medium")
    left.dataframe(
        whatif.style_inputs_table(whatif.scenario_inputs_table(record, record_b)),
        hide_index=True,
        key="whatif_inputs",
    )
    with right:
        st.dataframe(
            whatif.style_outcome_table(whatif.scenario_outcome_table(pred_a, pred_b)),
            key="whatif_outcome",
        )
        st.html(
            whatif.scenario_bars_html(pred_a["probabilities"], pred_b["probabilities"])
        )

with page.run_safely("The smallest flips"):
    st.subheader("Smallest change of one field that flips the diagnosis")
    diagnosis = engine.predict(image, record).diagnosis
    cache_key = (st.session_state.get("subject"), repr(sorted(record.items())))
    cached = st.session_state.get("whatif_flips")
    if cached is None or cached[0] != cache_key:
        with st.spinner("Searching each field's range…"):
            flips = {
                f.name: engine.smallest_flip(image, record, f.name)
                for f in INPUT_FIELDS
            }
        st.session_state["whatif_flips"] = (cache_key, flips)
    flips = st.session_state["whatif_flips"][1]
    st.caption(
        f"Current diagnosis: **{diagnosis}**. Each field is searched alone over its "
        "plausible range (201 values, or every category) with the others fixed; "
        "the value closest to the current one that changes the most likely class "
        "is listed."
    )
    table = whatif.flip_table(record, flips)
    st.dataframe(table.drop(columns="name"), hide_index=True, key="whatif_flip_table")
