"""Colour bars as light HTML, for figures drawn as images (slices, weight matrices).

A figure that the browser shows as a PNG needs its colour scale beside it; plotly
would draw the bar as a whole chart. Here it is a ``div`` with a CSS gradient sampled
from the same plotly colour scale the image was coloured with
(:func:`hyperfusion.viz.slice_images.colour_table`), so the two cannot disagree.
"""

from __future__ import annotations

import html

import numpy as np

from hyperfusion.viz import slice_images

_STOPS = 11  # gradient stops: enough for plotly's scales to read smooth


def gradient_css(scale: str, stops: int = _STOPS) -> str:
    """A left-to-right CSS ``linear-gradient`` of a plotly colour scale.

    Example:
        >>> gradient_css("Greys", 2)
        'linear-gradient(to right, rgb(255,255,255) 0%, rgb(0,0,0) 100%)'
    """
    table = slice_images.colour_table(scale)
    at = np.linspace(0, len(table) - 1, stops).round().astype(int)
    parts = [
        f"rgb({r},{g},{b}) {100 * i / (stops - 1):g}%"
        for i, (r, g, b) in enumerate(table[at].tolist())
    ]
    return f"linear-gradient(to right, {', '.join(parts)})"


def _tick(value: float) -> str:
    """A tick label: at most 3 significant digits, no trailing zeros.

    >>> _tick(0.5), _tick(-0.0123), _tick(120.0)
    ('0.5', '-0.0123', '120')
    """
    return f"{value:.3g}"


def colour_bar_html(
    scale: str,
    low: float,
    high: float,
    title: str,
    *,
    ticks: int = 3,
    width: str = "14em",
) -> str:
    """A horizontal colour bar: the title, the gradient of ``scale`` over
    ``[low, high]`` and ``ticks`` evenly spaced labels (the ends included).

    >>> text = colour_bar_html("Inferno", 0.0, 1.0, "Grad-CAM <AD>")
    >>> "Grad-CAM &lt;AD&gt;" in text, text.count("hf-tick"), "0.5" in text
    (True, 3, True)
    """
    values = np.linspace(low, high, max(ticks, 2))
    labels = "".join(
        f'<span class="hf-tick">{html.escape(_tick(float(v)))}</span>' for v in values
    )
    return (
        f'<div class="hf-colour-bar" data-low="{low!r}" data-high="{high!r}" '
        f'style="display:inline-block;width:{width};font-size:0.8em">'
        f'<div style="font-weight:600">{html.escape(title)}</div>'
        f'<div style="height:0.8em;border-radius:2px;'
        f'background:{gradient_css(scale)}"></div>'
        f'<div style="display:flex;justify-content:space-between">{labels}</div>'
        "</div>"
    )


__all__ = ["colour_bar_html", "gradient_css"]
