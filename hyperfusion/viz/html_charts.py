"""Bar charts as light HTML for ``st.html``: one generic horizontal bar chart
(:func:`bar_chart_html`) for the bars of the Explain, Hypernetwork, What-if, Fusion
strategies and Model card pages, and the two pieces every bar of the app is drawn
with (:func:`bar_html`, :func:`whisker_html`; the Patient page's probability bars,
:mod:`hyperfusion.viz.html_bars`, use them too).

Why: in Chromium on a 2-core CPU every plotly chart costs about 100-150 ms of browser
main-thread time each time a page renders; a few styled ``div``s are laid out in well
under a millisecond. What is lost is plotly's hover: the value labels beside the bars
say what it said. Streamlit sanitises ``st.html`` with DOMPurify (no script), which
inline styles survive; every text and attribute value here is HTML-escaped.

Layout: one row per bar, the labels on the left, the values' axis below (ticks and
title). Bars start at zero, so a negative value lies left of the zero line. Several
series are grouped per label (a row each, top to bottom in series order) or, with
``stacked``, laid end to end in one row. What is drawn travels with the chart's root
element (classes ``hf-bars`` and the chart's own, e.g. ``hf-attribution``):
``data-labels`` and ``data-series`` (JSON lists of names, labels top to bottom),
``data-values`` (JSON, full precision: one number per label for a chart of one
series, else one such list per series), ``data-sd`` alike where a series has
whiskers (``null``: none), ``data-low`` / ``data-high`` (the axis span) and
``data-reference``. Each bar has class ``hf-bar`` and ``data-label``,
``data-series`` and ``data-value``; each whisker class ``hf-whisker``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from hyperfusion.viz import FONT

TRACK_COLOR = "#e5e9ec"  # the background of a probability bar; grid lines
WHISKER_COLOR = "#1c2b36"
ZERO_COLOR = FONT["color"]
ROOM = "4.8em"  # beside the plot: where labels at the bar ends may reach
GROUP_GAP = "0.55em"  # above each group of bars but the first
_SMALL = "font-size:0.8em"


def pct(fraction: float) -> float:
    """A fraction of a track as a CSS percentage, clipped to the track.

    >>> pct(0.25), pct(1.2), pct(-0.1)
    (25.0, 100.0, 0.0)
    """
    return round(100 * min(1.0, max(0.0, fraction)), 2)


def _attr(value: object) -> str:
    return html.escape(str(value), quote=True)


def bar_html(start: float, end: float, color: str, data: str = "") -> str:
    """A bar over the fractions ``[start, end]`` of its track (either order,
    clipped to the track); ``data``: more attributes, already escaped."""
    left, right = pct(min(start, end)), pct(max(start, end))
    return (
        f'<div class="hf-bar"{data} style="position:absolute;top:0;left:{left}%;'
        f"width:{round(right - left, 2)}%;height:100%;border-radius:3px;"
        f'background:{_attr(color)}"></div>'
    )


def whisker_html(low: float, high: float) -> str:
    """A ±SD whisker over the fractions ``[low, high]`` of its track, clipped."""
    left, right = pct(low), pct(high)
    return (
        f'<div class="hf-whisker" style="position:absolute;left:{left}%;'
        f"width:{round(right - left, 2)}%;top:50%;height:2px;margin-top:-1px;"
        f'background:{WHISKER_COLOR}"></div>'
    )


def number_tick(value: float) -> str:
    """A tick label: at most 4 significant digits, no trailing zeros.

    >>> number_tick(0.5), number_tick(-12.0), number_tick(250.0)
    ('0.5', '-12', '250')
    """
    return f"{value:.4g}"


def percent_tick(value: float) -> str:
    """A fraction as a whole percentage: ``0.25`` reads ``25%``."""
    return f"{value:.0%}"


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Multiples of a step of 1, 2 or 5 × 10ⁿ within ``[low, high]``, the smallest
    step giving at most ``most`` of them.

    >>> nice_ticks(0.0, 1.0), nice_ticks(-5.5, 5.5)
    ([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], [-4.0, -2.0, 0.0, 2.0, 4.0])
    """
    span = high - low
    if not span > 0:
        return [low]
    power = 10.0 ** math.floor(math.log10(span / most))
    step = next(m * power for m in (1, 2, 5, 10) if span / (m * power) <= most)
    digits = max(0, 1 - math.floor(math.log10(step)))
    first = math.ceil(low / step - 1e-9)
    count = math.floor(high / step + 1e-9) - first + 1
    return [round((first + k) * step, digits) + 0.0 for k in range(count)]


def symmetric_span(
    values: Iterable[float], headroom: float = 1.1
) -> tuple[float, float]:
    """An axis centred on zero reaching ``headroom`` × the largest ``|value|``
    (±1 when every value is zero or missing).

    >>> symmetric_span([-2.0, 5.0, float("nan")])
    (-5.5, 5.5)
    """
    peak = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    peak = headroom * peak if peak > 0 else 1.0
    return -peak, peak


def zero_span(values: Iterable[float], headroom: float = 1.1) -> tuple[float, float]:
    """An axis from zero (or ``headroom`` × the most negative value) to ``headroom``
    × the largest value; ``(0, 1)`` when every value is zero or missing.

    >>> zero_span([0.2, 0.5]), zero_span([0.0])
    ((0.0, 0.55), (0.0, 1.0))
    """
    finite = [v for v in values if math.isfinite(v)]
    low = headroom * min([0.0, *finite])
    high = headroom * max([0.0, *finite])
    return (low, high) if high > low else (0.0, 1.0)


@dataclass(frozen=True)
class Axis:
    """The values' axis: the span drawn, its title and how its ticks read."""

    low: float
    high: float
    title: str
    tick: Callable[[float], str] = number_tick

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise ValueError(f"an axis needs low < high, got {self.low}, {self.high}")

    def at(self, value: float) -> float:
        """Where ``value`` lies along the axis, as a fraction (0 at ``low``)."""
        return (value - self.low) / (self.high - self.low)

    def base(self) -> float:
        """Where bars start: zero, or the axis end nearest to it."""
        return self.at(min(max(0.0, self.low), self.high))


@dataclass(frozen=True)
class Series:
    """One set of bars: a value per label, one colour or one per value, an
    optional ±SD per value (None, NaN or 0: no whisker) and value labels."""

    name: str
    values: Sequence[float]
    colors: str | Sequence[str]
    sd: Sequence[float | None] | None = None
    texts: Sequence[str] | None = None

    def color(self, i: int) -> str:
        return self.colors if isinstance(self.colors, str) else self.colors[i]

    def spread(self, i: int) -> float | None:
        """The whisker's half-length of value ``i``; None when there is none."""
        sd = None if self.sd is None else self.sd[i]
        return float(sd) if sd is not None and math.isfinite(sd) and sd > 0 else None

    def text(self, i: int) -> str:
        return "" if self.texts is None else self.texts[i]


@dataclass(frozen=True)
class Reference:
    """A dashed line across the bars at ``value``, labelled above the plot."""

    value: float
    label: str
    color: str


def _numbers(values: Iterable[float | None] | None) -> list[float | None] | None:
    if values is None:
        return None
    return [None if v is None or not math.isfinite(v) else float(v) for v in values]


def _data(
    labels: Sequence[str],
    series: Sequence[Series],
    axis: Axis,
    reference: Reference | None,
) -> str:
    """The root's data attributes: what is drawn, in full precision."""
    one = len(series) == 1
    values = [_numbers(s.values) for s in series]
    attrs = {
        "data-labels": json.dumps(list(labels), ensure_ascii=False),
        "data-series": json.dumps([s.name for s in series], ensure_ascii=False),
        "data-values": json.dumps(values[0] if one else values),
        "data-low": repr(float(axis.low)),
        "data-high": repr(float(axis.high)),
    }
    if any(s.sd is not None for s in series):
        sds = [_numbers(s.sd) for s in series]
        attrs["data-sd"] = json.dumps(sds[0] if one else sds)
    if reference is not None:
        attrs["data-reference"] = repr(float(reference.value))
    return "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items())


def _summary(title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """The aria-label: every label with its series' value labels."""
    parts = []
    for i, label in enumerate(labels):
        shown = [
            (s.name if len(series) > 1 else "", s.text(i) or f"{s.values[i]:.3g}")
            for s in series
        ]
        parts.append(f"{label}: " + ", ".join(f"{n} {t}".strip() for n, t in shown))
    return f"{title}. " * bool(title) + "; ".join(parts)


def _end_label(text: str, at: float, rightward: bool) -> str:
    """A value label just outside a bar's end (or its whisker's)."""
    side = (
        f"left:{pct(at)}%;margin-left:4px"
        if rightward
        else f"right:{round(100 - pct(at), 2)}%;margin-right:4px"
    )
    return (
        f'<span class="hf-value" style="position:absolute;{side};top:50%;'
        f"transform:translateY(-50%);white-space:nowrap;line-height:1;{_SMALL}"
        f'">{html.escape(text)}</span>'
    )


def _bar_data(label: str, series: str, value: float) -> str:
    return (
        f' data-label="{_attr(label)}" data-series="{_attr(series)}" '
        f'data-value="{float(value)!r}"'
    )


def _plot_cell(row: int | str, sides: str, body: str, style: str = "") -> str:
    """A cell of the plot column (grid rows ``row``): ``body`` laid out along the
    axis; ``sides``: the room left and right of the plot (two CSS lengths)."""
    left, right = sides.split()
    return (
        f'<div style="grid-column:3;grid-row:{row};position:relative;'
        f'margin-left:{left};margin-right:{right};{style}">{body}</div>'
    )


def _track(label: str, s: Series, i: int, axis: Axis) -> str:
    """Value ``i`` of series ``s``: its bar, whisker and value label."""
    value, base = float(s.values[i]), axis.base()
    end = axis.at(value) if math.isfinite(value) else base
    parts = [bar_html(base, end, s.color(i), _bar_data(label, s.name, value))]
    outer, rightward = end, end >= base
    sd = s.spread(i)
    if sd is not None:
        low, high = axis.at(value - sd), axis.at(value + sd)
        parts.append(whisker_html(low, high))
        outer = max(end, high) if rightward else min(end, low)
    if s.text(i):
        parts.append(_end_label(s.text(i), outer, rightward))
    return "".join(parts)


def _ink(color: str) -> str:
    """Dark or white text, whichever reads on ``color`` (``#rrggbb``).

    >>> _ink("#e9c46a"), _ink("#2166ac")
    ('#1c2b36', 'white')
    """
    if len(color) != 7 or not color.startswith("#"):
        return ZERO_COLOR
    r, g, b = (int(color[k : k + 2], 16) / 255 for k in (1, 3, 5))
    return ZERO_COLOR if 0.299 * r + 0.587 * g + 0.114 * b > 0.6 else "white"


def _stack(label: str, series: Sequence[Series], i: int, axis: Axis) -> str:
    """Value ``i`` of every series, end to end, each labelled inside its bar."""
    start, parts = 0.0, []
    for s in series:
        value = float(s.values[i])
        a, b = axis.at(start), axis.at(start + value)
        parts.append(bar_html(a, b, s.color(i), _bar_data(label, s.name, value)))
        if s.text(i):
            parts.append(
                f'<span class="hf-value" style="position:absolute;'
                f"left:{pct((a + b) / 2)}%;top:50%;transform:translate(-50%,-50%);"
                f"white-space:nowrap;font-weight:600;color:{_ink(s.color(i))};"
                f'{_SMALL}">{html.escape(s.text(i))}</span>'
            )
        start += value
    return "".join(parts)


def _lines(axis: Axis, over: bool, reference: Reference | None) -> str:
    """Grid lines at the ticks (to go under the bars), or the zero line and the
    reference line (over them)."""
    if not over:
        ticks = nice_ticks(axis.low, axis.high)
        marks = [(v, f"1px solid {TRACK_COLOR}") for v in ticks]
    else:
        marks = [(0.0, f"1px solid {ZERO_COLOR}")] * (axis.low < 0 < axis.high)
        if reference is not None:
            marks.append((reference.value, f"2px dashed {_attr(reference.color)}"))
    return "".join(
        f'<div style="position:absolute;top:0;bottom:0;width:0;'
        f'left:{pct(axis.at(v))}%;border-left:{line}"></div>'
        for v, line in marks
    )


def _ticks(axis: Axis) -> str:
    return "".join(
        f'<span class="hf-tick" data-at="{v!r}" style="position:absolute;'
        f"left:{pct(axis.at(v))}%;top:3px;transform:translateX(-50%);"
        f'white-space:nowrap;{_SMALL}">{html.escape(axis.tick(v))}</span>'
        for v in nice_ticks(axis.low, axis.high)
    )


def _legend(series: Sequence[Series], swatches: bool, whisker_label: str) -> str:
    box = "display:inline-block;margin-right:0.35em;vertical-align:"
    items = [
        f'<span><span style="{box}-0.1em;width:0.9em;height:0.9em;'
        f'border-radius:2px;background:{_attr(s.color(0))}"></span>'
        f"{html.escape(s.name)}</span>"
        for s in series
        if swatches
    ]
    if whisker_label:
        items.append(
            f'<span><span style="{box}0.3em;width:1.4em;height:2px;'
            f'background:{WHISKER_COLOR}"></span>{html.escape(whisker_label)}</span>'
        )
    if not items:
        return ""
    return (
        '<div class="hf-legend" style="display:flex;flex-wrap:wrap;gap:0.2em 1em;'
        f'justify-content:flex-end;margin-bottom:0.3em;{_SMALL}">{"".join(items)}</div>'
    )


def _sides(axis: Axis, stacked: bool) -> str:
    """Room beside the plot for labels at bar ends: on the left only where bars
    can point left; half a tick label otherwise."""
    if stacked:
        return "1.2em 1.2em"
    return f"{ROOM if axis.low < 0 else '1.2em'} {ROOM}"


def _rows(
    labels: Sequence[str],
    series: Sequence[Series],
    axis: Axis,
    first: int,
    stacked: bool,
    sides: str,
) -> list[str]:
    """The label and bar cells, a grid row per bar from row ``first``."""
    k = 1 if stacked else len(series)
    cells = []
    for g, label in enumerate(labels):
        row, gap = first + g * k, f"margin-top:{GROUP_GAP};" * (g > 0)
        cells.append(
            f'<div class="hf-label" style="grid-column:2;grid-row:{row} / span {k};'
            f'{gap}text-align:right;white-space:nowrap;font-size:0.85em">'
            f"{html.escape(label)}</div>"
        )
        if stacked:
            body = _stack(label, series, g, axis)
            cells.append(_plot_cell(row, sides, body, f"{gap}height:1.8em"))
            continue
        height = f"height:{'1.25em' if k == 1 else '0.8em'}"
        for s, one in enumerate(series):
            body = _track(label, one, g, axis)
            cells.append(_plot_cell(row + s, sides, body, gap * (s == 0) + height))
    return cells


def bar_chart_html(
    labels: Sequence[str],
    series: Sequence[Series],
    axis: Axis,
    *,
    kind: str,
    title: str = "",
    label_title: str = "",
    stacked: bool = False,
    legend: bool = False,
    whisker_label: str = "",
    reference: Reference | None = None,
) -> str:
    """Horizontal bars of every series for each of ``labels`` (see the module's
    notes), as HTML for ``st.html``.

    Args:
        labels: the rows (or groups of rows), top to bottom.
        series: the values to draw, each with one value per label.
        axis: the values' span, title and tick format.
        kind: the root's own class, e.g. ``"hf-attribution"``.
        title: above the chart; label_title: beside the labels, turned.
        stacked: every series end to end in one row per label, not grouped.
        legend: a swatch per series; whisker_label: a legend entry for whiskers.
        reference: a dashed line across the bars, labelled above them.
    """
    if any(len(s.values) != len(labels) for s in series):
        raise ValueError("every series needs one value per label")
    first, sides = 1 + (reference is not None), _sides(axis, stacked)
    n = max(len(labels) * (1 if stacked else len(series)), 1)
    span, over = f"{first} / span {n}", "align-self:stretch;pointer-events:none"
    cells = [_plot_cell(span, sides, _lines(axis, False, None), over)]
    if label_title:
        cells.append(
            f'<div style="grid-column:1;grid-row:{span};writing-mode:vertical-rl;'
            'transform:rotate(180deg);text-align:center;font-size:0.85em">'
            f"{html.escape(label_title)}</div>"
        )
    if reference is not None:
        mark = (
            f'<span style="position:absolute;left:{pct(axis.at(reference.value))}%;'
            "bottom:2px;transform:translateX(-50%);white-space:nowrap;"
            f'color:{_attr(reference.color)};{_SMALL}">'
            f"{html.escape(reference.label)}</span>"
        )
        cells.append(_plot_cell(1, sides, mark, "height:1.3em"))
    cells += _rows(labels, series, axis, first, stacked, sides)
    cells.append(_plot_cell(span, sides, _lines(axis, True, reference), over))
    cells.append(_plot_cell(first + n, sides, _ticks(axis), "height:1.6em"))
    title_style = "text-align:center;font-size:0.85em"
    cells.append(_plot_cell(first + n + 1, sides, html.escape(axis.title), title_style))
    columns = f"{'1.3em' if label_title else '0'} max-content minmax(0, 1fr)"
    head = (
        f'<div style="font-weight:600;margin-bottom:0.2em">{html.escape(title)}</div>'
    )
    return (
        f'<div class="hf-bars {_attr(kind)}"{_data(labels, series, axis, reference)} '
        f'role="img" aria-label="{_attr(_summary(title, labels, series))}">'
        f"{head * bool(title)}{_legend(series, legend, whisker_label)}"
        f'<div style="display:grid;grid-template-columns:{columns};column-gap:0.5em;'
        f'row-gap:2px;align-items:center">{"".join(cells)}</div></div>'
    )


__all__ = [
    "Axis",
    "Reference",
    "Series",
    "bar_chart_html",
    "bar_html",
    "nice_ticks",
    "number_tick",
    "percent_tick",
    "pct",
    "symmetric_span",
    "whisker_html",
    "zero_span",
]
