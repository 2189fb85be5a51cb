"""Figure builders: numpy / pandas in, a plotly ``go.Figure`` or light HTML for
``st.html`` out; no Streamlit. Bar charts, heatmaps and slice views are HTML
(:mod:`.html_charts`, :mod:`.html_heatmaps`, :mod:`.slices`): in Chromium on a 2-core
CPU every plotly chart costs about 100-150 ms of browser main-thread time per page
render. Lines, bands and animated figures stay plotly.

Colours are defined once here so that every page shows CN, MCI and AD, increases and
decreases, maps and anatomy the same way.
"""

from __future__ import annotations

# CN green, MCI amber, AD red.
CLASS_COLORS: dict[str, str] = {"CN": "#2a9d8f", "MCI": "#e9c46a", "AD": "#e76f51"}
BRAIN_AGE_COLOR = "#264653"
REFERENCE_COLOR = "#9aa5ad"
# The ends of the diverging map colour scale: positive values are red, negative blue.
INCREASE_COLOR = "#b2182b"
DECREASE_COLOR = "#2166ac"
DIVERGING_SCALE = "RdBu_r"
MAP_SCALE = "Inferno"
ANATOMY_SCALE = "gray"
NORM_SCALE = "Viridis"
FONT = {"family": "sans-serif", "size": 13, "color": "#1c2b36"}
