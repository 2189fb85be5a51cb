"""Heatmaps as light HTML: a matrix as one small PNG with its axes, and the confusion
matrix as a coloured table, for ``st.html``.

Why: in Chromium on a 2-core CPU every plotly chart costs about 100-150 ms of
browser main-thread time each time a page renders, and the Hypernetwork page drew up
to five heatmaps. Here a matrix is an ``<img>`` of one pixel per cell, scaled up by
CSS (``image-rendering: pixelated``), and its title, axis titles, ticks and colour
bar (:mod:`hyperfusion.viz.html_legend`) are a few styled ``div``s, which the browser
lays out in well under a millisecond. What is lost is plotly's hover read-out of a
cell's value: the colour bar gives the scale, and the figure's ``data-*`` attributes
carry what tests need. Streamlit sanitises ``st.html`` with DOMPurify (no script),
which inline styles and ``data:`` image URIs survive.

Images put row 0 of a matrix at the top (as a matrix is written) and column 0 on
the left.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from hyperfusion.config import AD_CLASSES
from hyperfusion.viz import FONT, NORM_SCALE, slice_images
from hyperfusion.viz.html_legend import colour_bar_html

Tick = tuple[float, str]  # (fraction of the axis from its start, label)
NAN_RGB = (229, 233, 236)  # a cell without a value: light grey
LINE_COLOR = "white"
CONFUSION_SCALE = "Blues"
_TEXT = FONT["color"]
_SMALL = "font-size:0.75em"


def matrix_png_uri(values: np.ndarray, scale: str, low: float, high: float) -> str:
    """A 2D array as a PNG data URI, one pixel per cell coloured on the plotly
    ``scale`` over ``[low, high]`` (clipped); NaN cells are light grey.

    Example:
        >>> from hyperfusion.viz.slice_images import decode_png_uri
        >>> uri = matrix_png_uri(np.array([[0.0, 1.0]]), "Greys", 0.0, 1.0)
        >>> decode_png_uri(uri).tolist()
        [[[255, 255, 255], [0, 0, 0]]]
    """
    grid = np.asarray(values, dtype=float)
    if grid.ndim != 2:
        raise ValueError(f"a 2D array is needed, got shape {grid.shape}")
    finite = np.isfinite(grid)
    rgb = slice_images.colour_lookup(np.where(finite, grid, low), scale, low, high)
    rgb[~finite] = NAN_RGB
    return slice_images.png_data_uri(rgb, flip_rows=False)


def index_ticks(n: int, most: int = 7) -> list[int]:
    """Indices ``0, step, 2·step...`` below ``n`` for axis ticks, ``step`` the first
    of 1, 2, 5, 10, 20, 50... giving at most ``most`` ticks.

    >>> index_ticks(128), index_ticks(16), index_ticks(1)
    ([0, 20, 40, 60, 80, 100, 120], [0, 5, 10, 15], [0])
    >>> index_ticks(2560)
    [0, 500, 1000, 1500, 2000, 2500]
    """
    for power in range(12):
        for mantissa in (1, 2, 5):
            step = mantissa * 10**power
            if -(-n // step) <= most:
                return list(range(0, max(n, 1), step))
    return [0]


def cell_centre(index: float, n: int) -> float:
    """The fraction of an axis of ``n`` cells at the centre of cell ``index``.

    >>> cell_centre(0, 4), cell_centre(3, 4)
    (0.125, 0.875)
    """
    return (index + 0.5) / n


def channel_ticks(n: int) -> list[Tick]:
    """Ticks at the centres of the cells :func:`index_ticks` picks, labelled with
    their index.

    >>> channel_ticks(2)
    [(0.25, '0'), (0.75, '1')]
    """
    return [(cell_centre(i, n), str(i)) for i in index_ticks(n)]


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.6g}%"


# Per axis: the mark's box, the label's placement, the strip's grid area and size.
_AXES = {
    "x": ("left:{at};top:0;width:1px;height:4px",
          "left:{at};top:4px;transform:translateX(-50%);white-space:nowrap",
          "grid-area:xt;position:relative;height:1.4em"),
    "y": ("right:0;top:{at};width:4px;height:1px",
          "right:6px;top:{at};transform:translateY(-50%);line-height:1",
          "grid-area:yt;position:relative;min-width:2.6em"),
}  # fmt: skip


def _ticks(ticks: Sequence[Tick], axis: str) -> str:
    """The tick marks and labels of the ``"x"`` (below) or ``"y"`` (left) axis,
    each at its fraction of the image."""
    mark, label_at, strip = _AXES[axis]
    marks = "".join(
        f'<div style="position:absolute;{mark.format(at=_pct(f))};'
        f'background:{_TEXT}"></div>'
        f'<span class="hf-{axis}tick" data-at="{f:.9g}" style="position:absolute;'
        f'{label_at.format(at=_pct(f))};{_SMALL}">{html.escape(label)}</span>'
        for f, label in ticks
    )
    return f'<div style="{strip}">{marks}</div>'


def _marks(lines: Sequence[Tick]) -> tuple[str, str]:
    """Vertical lines over the image and their labels above it, as HTML."""
    over, above = "", ""
    for f, label in lines:
        over += (
            f'<div class="hf-line" data-at="{f:.9g}" style="position:absolute;top:0;'
            f"bottom:0;left:{_pct(f)};width:2px;margin-left:-1px;"
            f'background:{LINE_COLOR};box-shadow:0 0 0 1px rgba(28,43,54,0.45)"></div>'
        )
        above += (
            f'<span style="position:absolute;left:{_pct(f)};bottom:2px;'
            f'transform:translateX(-50%);white-space:nowrap;{_SMALL}">'
            f"{html.escape(label)}</span>"
        )
    return over, above


def _title(text: str | None) -> str:
    if not text:
        return ""
    return f'<div style="font-weight:600;margin-bottom:0.3em">{html.escape(text)}</div>'


def image_panel_html(
    uri: str,
    shape: tuple[int, int],
    *,
    title: str,
    x_title: str,
    y_title: str,
    x_ticks: Sequence[Tick],
    y_ticks: Sequence[Tick],
    height_px: int,
    lines: Sequence[Tick] = (),
) -> str:
    """One image stretched over a box ``height_px`` tall and as wide as its
    container, with a title above, ``y_title`` and ``y_ticks`` on the left,
    ``x_ticks`` and ``x_title`` below and labelled vertical ``lines`` (fractions of
    the width) over it. ``shape`` is the image's ``(rows, columns)``."""
    rows, cols = shape
    over, above = _marks(lines)
    label = html.escape(f"{title}: {rows} × {cols} image")
    areas = "'. . top' 'yl yt img' '. . xt' '. . xl'"
    return (
        f'<div class="hf-heatmap" data-shape="{rows}x{cols}" '
        'style="flex:1 1 0;min-width:0">'
        f"{_title(title)}"
        f'<div style="display:grid;grid-template-areas:{areas};'
        f"grid-template-columns:1.3em auto 1fr;"
        f'grid-template-rows:{"1.3em" if lines else "0"} {height_px}px auto auto">'
        '<div style="grid-area:yl;writing-mode:vertical-rl;transform:rotate(180deg);'
        f'text-align:center;font-size:0.85em">{html.escape(y_title)}</div>'
        f"{_ticks(y_ticks, 'y')}"
        f'<div style="grid-area:top;position:relative">{above}</div>'
        '<div style="grid-area:img;position:relative">'
        f'<img src="{uri}" alt="{label}" style="position:absolute;top:0;left:0;'
        "width:100%;height:100%;image-rendering:pixelated;"
        f'outline:1px solid #c8cfd4">{over}</div>'
        f"{_ticks(x_ticks, 'x')}"
        '<div style="grid-area:xl;text-align:center;font-size:0.85em">'
        f"{html.escape(x_title)}</div>"
        "</div></div>"
    )


def value_fraction(
    values: Sequence[float | str], current: float | str | None
) -> float | None:
    """Where ``current`` sits across columns of ``values`` (0: the first column's
    left edge, 1: the last one's right edge), as on a heatmap's x axis: a listed
    category at its column's centre, a number between the column centres of the
    (increasing) values; None when missing or outside the values.

    >>> value_fraction([10.0, 20.0, 30.0], 25.0), value_fraction(["F", "M"], "M")
    (0.6666666666666666, 0.75)
    """
    k = len(values)
    if current is None or k == 0:
        return None
    if isinstance(current, str) or any(isinstance(v, str) for v in values):
        names = list(values)
        return cell_centre(names.index(current), k) if current in names else None
    xs, c = np.asarray(values, dtype=float), float(current)
    if not xs[0] <= c <= xs[-1]:
        return None
    index = float(np.interp(c, xs, np.arange(k))) if k > 1 else 0.0
    return cell_centre(index, k)


def _value_ticks(values: Sequence[float | str], most: int = 5) -> list[Tick]:
    """Every category; or ``most`` evenly spaced numeric values, the ends included."""
    k = len(values)
    if any(isinstance(v, str) for v in values):
        return [(cell_centre(i, k), str(v)) for i, v in enumerate(values)]
    at = np.unique(np.rint(np.linspace(0, k - 1, min(k, most))).astype(int))
    return [(cell_centre(i, k), f"{float(values[i]):.4g}") for i in at]


def channel_norm_html(
    values: Sequence[float | str],
    norms: np.ndarray,
    field_label: str,
    unit: str = "",
    current: float | str | None = None,
    height: int = 320,
) -> str:
    """Per-output-channel norm of W(t) as one field sweeps its range: one PNG on
    :data:`NORM_SCALE`, the field's values across (low to high), channel 0 at the
    top, the patient's value a vertical line labelled "this patient".

    Args:
        values: the K field values (increasing numbers, or categories).
        norms: ``(K, out)`` norms.
        current: the patient's value (no line when None or outside ``values``).
        height: the image's height in CSS pixels.
    """
    norms = np.asarray(norms, dtype=float)
    if norms.ndim != 2 or norms.shape[0] != len(values) or not len(values):
        raise ValueError(f"expected ({len(values)}, out) norms, got {norms.shape}")
    grid = norms.T
    low, high = float(np.nanmin(grid)), float(np.nanmax(grid))
    at = value_fraction(values, current)
    panel = image_panel_html(
        matrix_png_uri(grid, NORM_SCALE, low, high),
        grid.shape,
        title="",
        x_title=f"{field_label} ({unit})" if unit else field_label,
        y_title="Output channel c",
        x_ticks=_value_ticks(values),
        y_ticks=channel_ticks(grid.shape[0]),
        height_px=height,
        lines=[] if at is None else [(at, "this patient")],
    )
    bar = colour_bar_html(NORM_SCALE, low, high, "‖Wc(t)‖₂", ticks=5)
    return (
        f'<div class="hf-norm-sweep" data-field="{html.escape(field_label)}" '
        f'data-current="{"" if at is None else f"{at:.9g}"}">'
        f'{panel}<div style="text-align:right;margin-top:0.3em">{bar}</div></div>'
    )


def _luminance(rgb: Sequence[int]) -> float:
    """WCAG relative luminance of an sRGB colour."""
    c = np.asarray(rgb, dtype=float) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def _text_colour(rgb: Sequence[int]) -> str:
    """White or black, whichever contrasts more with ``rgb`` (on every colour of
    :data:`CONFUSION_SCALE` that is at least 4.5:1, WCAG AA).

    >>> _text_colour((8, 48, 107)), _text_colour((247, 251, 255))
    ('#ffffff', '#000000')
    """
    bg = _luminance(rgb)
    return "#ffffff" if 1.05 / (bg + 0.05) >= (bg + 0.05) / 0.05 else "#000000"


def _confusion_rows(counts: np.ndarray, share: np.ndarray, classes: list[str]) -> str:
    colours = slice_images.colour_lookup(share, CONFUSION_SCALE, 0.0, 1.0)
    cell = "padding:0.45em 0.8em;text-align:center;min-width:4.2em;line-height:1.25"
    head = 'style="padding:0.2em 0.6em;font-weight:600;text-align:right"'
    out = ""
    for i, name in enumerate(classes):
        side = (
            f'<th rowspan="{len(classes)}" style="writing-mode:vertical-rl;'
            'transform:rotate(180deg);font-weight:400;padding:0 0.3em">true</th>'
        ) * (i == 0)
        tds = ""
        for j in range(len(classes)):
            rgb = colours[i, j].tolist()
            tds += (
                f'<td class="hf-cell" style="{cell};background:rgb{tuple(rgb)};'
                f'color:{_text_colour(rgb)};border:1px solid white">'
                f'<div style="font-weight:600">{counts[i, j]:.0f}</div>'
                f'<div style="{_SMALL}">({share[i, j]:.0%})</div></td>'
            )
        out += f"<tr>{side}<th {head}>{html.escape(name)}</th>{tds}</tr>"
    return out


def confusion_table_html(
    matrix: Sequence[Sequence[float]] | np.ndarray,
    classes: Sequence[str] = AD_CLASSES,
    title: str | None = None,
) -> str:
    """A confusion matrix as a table: true classes in rows, predicted in columns,
    each cell the count and, below it, its share of the true class, coloured by
    that share (a row without subjects reads 0%).

    Args:
        matrix: ``(K, K)`` counts, ``matrix[i][j]`` = subjects of true class ``i``
            predicted as ``j``.
        classes: the ``K`` class names, in matrix order.
        title: optional title (e.g. the model's name).
    """
    counts = np.asarray(matrix, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"a square confusion matrix is needed, got {counts.shape}")
    if counts.shape[0] != len(classes):
        raise ValueError(f"{len(classes)} class names for a {counts.shape} matrix")
    names = [str(c) for c in classes]
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    predicted = "".join(
        f'<th style="padding:0.2em 0.6em;font-weight:600">{html.escape(c)}</th>'
        for c in names
    )
    data = ";".join(",".join(f"{v:g}" for v in row) for row in counts)
    return (
        f'<div class="hf-confusion" data-classes="{html.escape(",".join(names))}" '
        f'data-counts="{data}">{_title(title)}'
        '<table style="border-collapse:collapse;border:none;margin:0">'
        f'<tr><th colspan="2"></th><th colspan="{len(names)}" '
        'style="font-weight:400;padding-bottom:0.2em">predicted</th></tr>'
        f'<tr><th colspan="2"></th>{predicted}</tr>'
        f"{_confusion_rows(counts, share, names)}</table>"
        '<div style="margin-top:0.4em">'
        f"{colour_bar_html(CONFUSION_SCALE, 0.0, 1.0, 'share of true class')}"
        "</div></div>"
    )


__all__ = [
    "channel_norm_html",
    "channel_ticks",
    "confusion_table_html",
    "image_panel_html",
    "index_ticks",
    "matrix_png_uri",
    "value_fraction",
]
