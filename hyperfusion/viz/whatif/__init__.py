"""What-if figures and tables: one field swept over its range (:mod:`.sweep`) and
scrubbed in the browser (:mod:`.scrub`: plotly frames and a slider), two scenarios
side by side (:mod:`.scenarios`), and the smallest change of one field that flips
the diagnosis (:mod:`.flips`); :mod:`.labels` writes fields and values.

Pure builders: they take the engine's outputs as plain data (a sweep DataFrame,
``Prediction.to_dict()`` dicts, ``smallest_flip`` results) and return plotly figures
(for ``st.plotly_chart``), HTML (the scenarios' bars, for ``st.html``: a plotly chart
costs about 100-150 ms of browser time per page render on a 2-core CPU) or pandas
DataFrames (for ``st.dataframe``). Every public name is importable from here, as the
What-if page does.
"""

from __future__ import annotations

from hyperfusion.viz.whatif.flips import NO_FLIP, flip_table
from hyperfusion.viz.whatif.labels import axis_title, format_value
from hyperfusion.viz.whatif.scenarios import (
    scenario_bars_html,
    scenario_inputs_table,
    scenario_outcome_table,
    style_inputs_table,
    style_outcome_table,
)
from hyperfusion.viz.whatif.scrub import (
    CURRENT_LABEL,
    current_index,
    scrub_figure,
    scrub_values,
)
from hyperfusion.viz.whatif.sweep import (
    MARKER_COLOR,
    padded_range,
    rgba,
    sweep_figure,
    sweep_values,
    sweepable_fields,
)

__all__ = [
    "CURRENT_LABEL",
    "MARKER_COLOR",
    "NO_FLIP",
    "axis_title",
    "current_index",
    "flip_table",
    "format_value",
    "padded_range",
    "rgba",
    "scenario_bars_html",
    "scenario_inputs_table",
    "scenario_outcome_table",
    "scrub_figure",
    "scrub_values",
    "sweep_figure",
    "sweep_values",
    "style_inputs_table",
    "style_outcome_table",
    "sweepable_fields",
]
