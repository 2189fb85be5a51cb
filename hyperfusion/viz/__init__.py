"""Plotly figure builders: numpy / pandas in, ``go.Figure`` out; no Streamlit.

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
MARGIN = {"l": 60, "r": 20, "t": 50, "b": 50}


def base_layout(height: int, title: str | None = None) -> dict:
    """Layout settings every figure shares (font, margins, white background)."""
    return {
        "height": height,
        "title": {"text": title or "", "font": {"size": 14}, "x": 0.0, "xref": "paper"},
        "font": FONT,
        "margin": MARGIN,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
    }
