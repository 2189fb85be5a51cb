"""The Patient page's probability bars (``hyperfusion.viz.html_bars``): one bar per
class at its probability, in the class colour, a ±1 SD whisker only for an ensemble,
and the drawn values readable from the element."""

from __future__ import annotations

import re

import pytest

from hyperfusion.viz import CLASS_COLORS
from hyperfusion.viz.html_bars import PROBABILITY_TITLE, probability_bars_html

PROBS = {"CN": 0.2, "MCI": 0.5, "AD": 0.3}
SD = {"CN": 0.01, "MCI": 0.04, "AD": 0.02}


def widths(text: str) -> list[float]:
    """The bars' widths in percent (the divs coloured with a class colour)."""
    found = []
    for cls in PROBS:
        color = CLASS_COLORS[cls]
        pattern = rf"width:([\d.]+)%;height:100%;border-radius:3px;background:{color}"
        found += [float(w) for w in re.findall(pattern, text)]
    return found


def test_each_class_is_a_bar_as_wide_as_its_probability_in_its_colour():
    text = probability_bars_html(PROBS, SD, n_seeds=3)
    assert widths(text) == pytest.approx([20.0, 50.0, 30.0])
    assert 'data-classes="CN,MCI,AD"' in text
    values = re.search(r'data-probabilities="([^"]+)"', text).group(1)
    assert [float(v) for v in values.split(",")] == [0.2, 0.5, 0.3]  # full precision
    assert PROBABILITY_TITLE in text and "spread" not in PROBABILITY_TITLE


def test_an_ensemble_shows_a_whisker_of_one_sd_either_side():
    text = probability_bars_html(PROBS, SD, n_seeds=3)
    whiskers = re.findall(r"left:([\d.]+)%;width:([\d.]+)%;top:50%", text)
    spans = [v for a, w in whiskers for v in (float(a), float(a) + float(w))]
    assert spans == pytest.approx([19.0, 21.0, 46.0, 54.0, 28.0, 32.0])
    assert "50% ± 4%" in text


def test_a_single_model_has_no_whisker_and_no_plus_minus():
    text = probability_bars_html(PROBS, {c: 0.0 for c in PROBS}, n_seeds=1)
    assert "top:50%" not in text and "±" not in text
    assert "50%" in text


def test_whiskers_stay_on_the_track_and_names_are_escaped():
    text = probability_bars_html({"<b>": 0.98}, {"<b>": 0.05}, n_seeds=2)
    assert "<b>" not in text.replace("<b>", "", 0) or "&lt;b&gt;" in text
    assert (
        "&lt;b&gt;" in text
        and '<span style="width:3em;font-weight:600"><b>' not in text
    )
    left, width = re.search(r"left:([\d.]+)%;width:([\d.]+)%;top", text).groups()
    assert float(left) + float(width) == pytest.approx(100.0)  # clipped at 100 %
