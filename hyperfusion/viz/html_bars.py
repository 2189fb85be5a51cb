"""The CN / MCI / AD probabilities as light HTML bars, for the Patient page.

Every EHR edit redraws them, so they are plain HTML (a few styled ``div``s), not a
plotly chart: in Chromium on a 2-core CPU the plotly bar chart added about 40 ms to
each edit's time to screen (docs/EXPERIMENTS.md). Bars and whiskers are drawn as
every bar chart of the app is (:mod:`hyperfusion.viz.html_charts`). The values travel
with the element as ``data-probabilities`` (full precision, in ``data-classes``
order), so tests and the benchmark read what is drawn without parsing its text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from hyperfusion.config import AD_CLASSES
from hyperfusion.viz import BRAIN_AGE_COLOR, CLASS_COLORS
from hyperfusion.viz.html_charts import TRACK_COLOR, bar_html, whisker_html

PROBABILITY_TITLE = f"Diagnosis probability ({' / '.join(AD_CLASSES)})"


def _row(cls: str, p: float, sd: float, whiskers: bool) -> str:
    color = CLASS_COLORS.get(cls, BRAIN_AGE_COLOR)
    label = f"{p:.0%}" + (f" ± {sd:.0%}" if whiskers else "")
    whisker = whisker_html(p - sd, p + sd) if whiskers and sd > 0 else ""
    name = html.escape(cls)
    return (
        '<div style="display:flex;align-items:center;gap:0.6em;margin:0.3em 0">'
        f'<span style="width:3em;font-weight:600">{name}</span>'
        '<div style="position:relative;flex:1;height:1.3em;border-radius:3px;'
        f'background:{TRACK_COLOR}">{bar_html(0.0, p, color)}{whisker}</div>'
        f'<span style="width:6.5em;text-align:right">{label}</span></div>'
    )


def probability_bars_html(
    probabilities: Mapping[str, float],
    spread: Mapping[str, float],
    n_seeds: int,
) -> str:
    """One bar per class (the ensemble's mean) with a ±1 SD whisker when there is an
    ensemble; the title says what is shown (:data:`PROBABILITY_TITLE`).

    >>> text = probability_bars_html({"CN": 0.25, "MCI": 0.75}, {}, 1)
    >>> 'data-probabilities="0.25,0.75"' in text, "75%" in text, "±" in text
    (True, True, False)
    """
    classes = list(probabilities)
    values = [float(probabilities[c]) for c in classes]
    whiskers = n_seeds > 1
    rows = "".join(
        _row(c, v, float(spread.get(c, 0.0)), whiskers)
        for c, v in zip(classes, values, strict=True)
    )
    data = ",".join(repr(v) for v in values)
    names = html.escape(",".join(classes))
    summary = html.escape(
        ", ".join(f"{c} {v:.0%}" for c, v in zip(classes, values, strict=True))
    )
    return (
        f'<div class="hf-probabilities" data-classes="{names}" '
        f'data-probabilities="{data}" role="img" aria-label="{summary}">'
        f'<div style="font-weight:600;margin-bottom:0.2em">{PROBABILITY_TITLE}</div>'
        f"{rows}</div>"
    )


__all__ = ["PROBABILITY_TITLE", "probability_bars_html"]
