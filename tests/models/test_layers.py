"""Hyper layers: W(t) = A·e(t) + B by hand, hyperfan-in, batched == per-sample."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from hyperfusion.models.layers import HyperConv3d, HyperLinear
from tests.tolerances import assert_far, assert_within, reduction_atol


def test_generated_linear_weight_is_a_e_plus_b_computed_by_hand():
    layer = HyperLinear(in_features=2, out_features=1, embed_dim=2)
    with torch.no_grad():
        # A maps e to the 2 weights; B is the generator's bias.
        layer.weight_gen.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        layer.weight_gen.bias.copy_(torch.tensor([0.5, -1.0]))
        layer.bias_gen.weight.copy_(torch.tensor([[3.0, 1.0]]))
        layer.bias_gen.bias.copy_(torch.tensor([0.25]))
    e = torch.tensor([[1.0, 1.0], [2.0, -1.0]])
    w, b = layer.generate(e)
    # Sample 0: W = [1*1 + 0.5, 2*1 - 1] = [1.5, 1.0]; b = 3 + 1 + 0.25.
    # Sample 1: W = [2 + 0.5, -2 - 1] = [2.5, -3.0]; b = 6 - 1 + 0.25.
    assert torch.equal(w, torch.tensor([[[1.5, 1.0]], [[2.5, -3.0]]]))
    assert torch.equal(b, torch.tensor([[4.25], [5.25]]))
    x = torch.tensor([[2.0, 3.0], [1.0, 1.0]])
    y = layer(x, e)
    # Small dyadic numbers: every product and sum is exact in float32.
    assert torch.equal(y, torch.tensor([[1.5 * 2 + 3.0 + 4.25], [2.5 - 3.0 + 5.25]]))


def test_shared_weight_is_the_weight_for_a_zero_embedding():
    layer = HyperConv3d(3, 4, 1, embed_dim=5)
    with torch.no_grad():
        layer.weight_gen.bias.normal_()
        layer.bias_gen.bias.normal_()
    w, b = layer.generate(torch.zeros(1, 5))
    shared_w, shared_b = layer.shared_weight()
    assert torch.equal(w[0], shared_w)
    assert torch.equal(b[0], shared_b)


@pytest.mark.parametrize("embed_var", [0.25, 1.0, 4.0])
def test_hyperfan_in_gives_generated_weights_variance_one_over_fan_in(embed_var):
    torch.manual_seed(0)
    fan_in, d_k = 64 * 1, 8
    layer = HyperConv3d(64, 128, 1, embed_dim=d_k, embed_var=embed_var)
    # Var(A e) = d_k * Var(A) * Var(e) for zero-mean e with variance Var(e).
    e = torch.randn(4000, d_k) * math.sqrt(embed_var)
    w, _ = layer.generate(e)
    assert w.var().item() == pytest.approx(1.0 / fan_in, rel=0.1)
    assert torch.count_nonzero(layer.weight_gen.bias) == 0


def _loop_conv(layer: HyperConv3d, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """Reference: each sample convolved with its own weights, one at a time."""
    outs = []
    for i in range(x.shape[0]):
        w, b = layer.generate(e[i : i + 1])
        outs.append(
            F.conv3d(
                x[i : i + 1], w[0], b[0], stride=layer.stride, padding=layer.padding
            )
        )
    return torch.cat(outs)


def _rounding_bound(layer: HyperConv3d | HyperLinear, x, e) -> torch.Tensor:
    """Elementwise ``reduction_atol`` of a hyper layer's output.

    Each output sums ``fan_in`` products and a bias, and each generated weight sums
    ``embed_dim`` products and a bias. The same layer on absolute values
    (``|A| |e| + |B|`` for the weights, applied to ``|x|``) gives ``sum(|terms|)``.
    """
    absolute = copy.deepcopy(layer)
    with torch.no_grad():
        for p in absolute.parameters():
            p.abs_()
        abs_sum = absolute(x.abs(), e.abs())
    fan_in = math.prod(layer.weight_shape[1:])
    return reduction_atol(fan_in + layer.embed_dim + 2, abs_sum)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding"), [(1, 2, 0), (1, 1, 0), (3, 1, 1), (3, 2, 0)]
)
def test_batched_hyper_conv_equals_per_sample_loop(kernel, stride, padding):
    torch.manual_seed(1)
    layer = HyperConv3d(3, 5, kernel, embed_dim=4, stride=stride, padding=padding)
    with torch.no_grad():
        layer.weight_gen.bias.normal_()
    x = torch.randn(4, 3, 7, 6, 5)
    e = torch.randn(4, 4)
    assert_within(layer(x, e), _loop_conv(layer, x, e), _rounding_bound(layer, x, e))


@pytest.mark.parametrize(
    ("kernel", "stride", "padding"), [(1, 2, 0), (1, 1, 0), (3, 1, 1)]
)
def test_shared_inputs_equal_the_repeated_batch(kernel, stride, padding):
    """K embeddings on the same V inputs: the record-major rows of the batch that
    repeats the inputs K times and each embedding V times."""
    torch.manual_seed(4)
    layer = HyperConv3d(3, 5, kernel, embed_dim=4, stride=stride, padding=padding)
    with torch.no_grad():
        layer.weight_gen.bias.normal_()
    x, e = torch.randn(2, 3, 7, 6, 5), torch.randn(6, 4)
    xr, er = x.repeat(6, 1, 1, 1, 1), e.repeat_interleave(2, 0)
    shared = layer.forward_shared(x, e)
    assert shared.shape == layer(xr, er).shape
    assert_within(shared, _loop_conv(layer, xr, er), _rounding_bound(layer, xr, er))


def test_batched_hyper_conv_rows_do_not_borrow_neighbours_weights():
    """Regression for the reference defect: sample i+1's weights used on sample i."""
    torch.manual_seed(2)
    layer = HyperConv3d(2, 2, 1, embed_dim=2)
    x = torch.randn(3, 2, 4, 4, 4)
    e = torch.randn(3, 2)
    batched = layer(x, e)
    # Not bit-equal: the grouped convolution sums in another order than a single
    # sample's (seen: 2.4e-7 apart on an AVX-512 Xeon). The bound holds everywhere.
    tol = _rounding_bound(layer, x, e)
    for i in range(3):
        alone = layer(x[i : i + 1], e[i : i + 1])
        assert_within(batched[i : i + 1], alone, tol[i : i + 1], what=f"row {i}")
    # The reference defect (sample i+1's weights on sample i) misses by far more.
    shifted = _loop_conv(layer, x, torch.roll(e, shifts=-1, dims=0))
    assert_far(batched, shifted, tol, factor=1000, what="borrowed weights")


@pytest.mark.parametrize("n", [1, 3, 4, 9])  # both paths: n <= d_k + 1 and beyond
def test_batched_hyper_linear_equals_per_sample_loop(n):
    torch.manual_seed(3)
    layer = HyperLinear(6, 3, embed_dim=2)
    x, e = torch.randn(n, 6), torch.randn(n, 2)
    rows = []
    for i in range(n):
        w, b = layer.generate(e[i : i + 1])
        rows.append(F.linear(x[i : i + 1], w[0], b[0]))
    loop = torch.cat(rows)
    assert_within(layer(x, e), loop, _rounding_bound(layer, x, e))


def test_generate_stores_nothing_on_the_module():
    layer = HyperLinear(4, 2, embed_dim=3)
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    attrs = set(vars(layer))
    layer.generate(torch.randn(7, 3))
    layer(torch.randn(7, 4), torch.randn(7, 3))
    assert set(vars(layer)) == attrs
    for k, v in layer.state_dict().items():
        assert torch.equal(v, before[k])
