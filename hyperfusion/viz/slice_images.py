"""Slices and matrices as compact images: a plane's anatomy with its map composited
on top (or a matrix on a colour scale), as a PNG data URI that an ``<img>`` of the
HTML viewers (:mod:`hyperfusion.viz.slices`, :mod:`hyperfusion.viz.html_heatmaps`)
shows.

A 109x91 plane with a map is a few kilobytes of PNG, where the same plane as two
heatmap traces (uint8 anatomy, float32 map) is about 70 kB of JSON; the browser
draws an image without re-meshing a heatmap.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache

import numpy as np
from plotly.colors import get_colorscale, sample_colorscale

PNG_URI_PREFIX = "data:image/png;base64,"


@lru_cache(maxsize=16)
def colour_table(scale: str, n: int = 256) -> np.ndarray:
    """A plotly colour scale sampled at ``n`` evenly spaced points, ``(n, 3)`` uint8.

    Example:
        >>> colour_table("Inferno")[0].tolist()
        [0, 0, 4]
    """
    colours = sample_colorscale(get_colorscale(scale), np.linspace(0.0, 1.0, n))
    rgb = [_parse_rgb(c) for c in colours]
    table = np.asarray(rgb, dtype=np.uint8)
    table.setflags(write=False)
    return table


@lru_cache(maxsize=4)
def grey_table(scale: str = "gray") -> np.ndarray:
    """A grey colour scale as 256 grey levels (the mean of its channels), so that
    anatomy stays pure grey (plotly's ``gray`` ends at ``rgb(254, 254, 253)``).

    Example:
        >>> grey_table()[[0, -1]].tolist()
        [0, 254]
    """
    table = np.rint(colour_table(scale).mean(axis=1)).astype(np.uint8)
    table.setflags(write=False)
    return table


def _parse_rgb(colour: str) -> tuple[int, int, int]:
    """``"rgb(1, 2, 3)"`` (or ``"#010203"``) as integers."""
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    inner = colour[colour.index("(") + 1 : colour.index(")")]
    r, g, b = (int(round(float(v))) for v in inner.split(",")[:3])
    return r, g, b


def _lookup(values: np.ndarray, table: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Colours of ``values`` on ``[lo, hi]`` (clipped), ``(..., 3)`` uint8."""
    span = max(float(hi - lo), 1e-12)
    scaled = np.clip((values - lo) / span, 0.0, 1.0) * (len(table) - 1)
    return table[np.rint(scaled).astype(np.intp)]


def colour_lookup(values: np.ndarray, scale: str, lo: float, hi: float) -> np.ndarray:
    """Colours of ``values`` on the plotly ``scale`` over ``[lo, hi]`` (clipped), as
    ``(..., 3)`` uint8 from :func:`colour_table`.

    Example:
        >>> colour_lookup(np.array([0.0, 1.0]), "Greys", 0.0, 1.0).tolist()
        [[255, 255, 255], [0, 0, 0]]
    """
    return _lookup(np.asarray(values, dtype=float), colour_table(scale), lo, hi)


def composite(
    grey: np.ndarray,
    overlay: np.ndarray | None = None,
    *,
    anatomy_scale: str = "gray",
    overlay_scale: str = "Inferno",
    limits: tuple[float, float] = (0.0, 1.0),
    opacity: float = 0.6,
) -> np.ndarray:
    """One plane as RGB: the uint8 anatomy on its grey scale (0-255) and, where the
    overlay is finite, the overlay's colour on ``limits`` blended in with
    ``opacity`` (NaN is transparent, as in a heatmap).

    Args:
        grey: ``(H, W)`` uint8 anatomy.
        overlay: ``(H, W)`` map, NaN where hidden; None for the anatomy alone.
        anatomy_scale: plotly grey scale of the anatomy (:func:`grey_table`).
        overlay_scale: plotly colour scale of the map.
        limits: the map's colour range ``(cmin, cmax)``.
        opacity: the map's opacity, 0-1.

    Returns:
        ``(H, W, 3)`` uint8.

    Example:
        >>> composite(np.array([[0, 255]], np.uint8)).tolist()
        [[[0, 0, 0], [254, 254, 254]]]
    """
    levels = grey_table(anatomy_scale)[np.asarray(grey, dtype=np.uint8)]
    rgb = np.repeat(levels[..., None], 3, axis=-1)
    if overlay is None:
        return rgb
    shown = np.isfinite(overlay)
    if not shown.any():
        return rgb
    colours = _lookup(overlay[shown], colour_table(overlay_scale), *limits)
    alpha = float(np.clip(opacity, 0.0, 1.0))
    mixed = (1.0 - alpha) * rgb[shown] + alpha * colours
    out = rgb.copy()
    out[shown] = np.rint(mixed).astype(np.uint8)
    return out


def png_bytes(rgb: np.ndarray, flip_rows: bool = True) -> bytes:
    """An ``(H, W, 3)`` uint8 image as PNG, stored as greyscale (a third of the
    size) when every pixel is grey. ``flip_rows``: the rows go bottom-up (row 0 is
    the lowest coordinate, as in a heatmap), so the first PNG row is the last
    array row.

    Example:
        >>> png_bytes(np.zeros((2, 3, 3), np.uint8))[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        True
    """
    from PIL import Image

    data = np.ascontiguousarray(rgb[::-1] if flip_rows else rgb, dtype=np.uint8)
    grey = (data[..., 0] == data[..., 1]).all() and (data[..., 1] == data[..., 2]).all()
    image = Image.fromarray(np.ascontiguousarray(data[..., 0]) if grey else data)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def png_data_uri(rgb: np.ndarray, flip_rows: bool = True) -> str:
    """:func:`png_bytes` as a ``data:image/png;base64,...`` URI."""
    encoded = base64.b64encode(png_bytes(rgb, flip_rows)).decode("ascii")
    return PNG_URI_PREFIX + encoded


def decode_png_uri(uri: str) -> np.ndarray:
    """The pixels of a PNG data URI, ``(H, W, 3)`` uint8 top row first (for tests
    and checks)."""
    from PIL import Image

    if not uri.startswith(PNG_URI_PREFIX):
        raise ValueError("not a PNG data URI")
    data = base64.b64decode(uri[len(PNG_URI_PREFIX) :])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
