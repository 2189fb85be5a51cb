"""Weight heatmaps: one diverging scale centred at 0, shared by the panels."""

from __future__ import annotations

import numpy as np
import pytest

from hyperfusion.viz.weights import symmetric_limit, weight_heatmaps


def test_panels_share_one_symmetric_scale():
    a = np.array([[0.5, -1.0], [0.0, 0.2]])
    b = np.array([[2.0, 0.0], [0.0, 0.0]])
    fig = weight_heatmaps([a, b], ["Female", "Male"])
    assert len(fig.data) == 2
    assert all(t.coloraxis == "coloraxis" for t in fig.data)
    axis = fig.layout.coloraxis
    assert (axis.cmin, axis.cmax) == (-2.0, 2.0)
    assert axis.colorscale[0][1] != axis.colorscale[-1][1]
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), a.astype(np.float32))
    assert [a.text for a in fig.layout.annotations] == ["Female", "Male"]
    assert fig.layout.xaxis.title.text == "Input channel"
    assert fig.layout.yaxis.title.text == "Output channel"
    assert fig.layout.yaxis.autorange == "reversed"  # row 0 on top, like a matrix


def test_all_zero_matrices_still_get_a_usable_scale():
    assert symmetric_limit([np.zeros((2, 2))]) == 1.0
    fig = weight_heatmaps([np.zeros((2, 3))], ["W"], limit=0.5)
    assert fig.layout.coloraxis.cmax == 0.5


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="title"):
        weight_heatmaps([np.zeros((2, 2))], [])
    with pytest.raises(ValueError, match="2D"):
        weight_heatmaps([np.zeros(3)], ["v"])
