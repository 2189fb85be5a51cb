"""The CUDA path: the same models, engine and training on a GPU.

Skipped where there is no GPU (CI has none); run on a GPU machine with
``pytest -m cuda``. The CPU answers are the reference: fp32 on the GPU must match them
to float tolerance, and mixed precision (the default on CUDA) closely.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hyperfusion.data.examples import (
    example_image_bytes,
    example_record,
    list_examples,
)
from hyperfusion.engine import Engine
from hyperfusion.models.device import autocast_for
from hyperfusion.models.registry import build_model
from tests.tolerances import (
    F16_NETWORK_RTOL,
    F16_PROB_ATOL,
    F16_UNTRAINED_RTOL,
    NETWORK_RTOL,
    assert_within,
    network_atol,
)

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]
CUDA = torch.device("cuda")


@pytest.mark.parametrize(
    ("task", "name"),
    [("ad", "hyperfusion"), ("ad", "daft"), ("brain-age", "hyperfusion")],
)
def test_model_outputs_on_cuda_match_the_cpu(task, name, monkeypatch):
    # cuDNN runs float32 convolutions in TF32 (10 mantissa bits) by default: the
    # float32 comparison needs true float32 (restored after the test).
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    torch.manual_seed(0)
    model = build_model(task, name).eval()
    shape = model.cfg.input_shape
    gen = torch.Generator().manual_seed(1)
    image = torch.randn(4, 1, *shape, generator=gen)
    n_tab = model.cfg.n_tabular
    tab = torch.randn(4, n_tab, generator=gen)
    if task == "brain-age":
        tab = torch.tensor([[1.0, 0.0], [0.0, 1.0]] * 2)
    with torch.no_grad():
        ref = model(image, tab)
        model.to(CUDA)
        fp32 = model(image.to(CUDA), tab.to(CUDA)).cpu()
        with autocast_for(CUDA):
            mixed = model(image.to(CUDA), tab.to(CUDA)).float().cpu()
    assert_within(fp32, ref, network_atol(ref, NETWORK_RTOL), what="float32")
    if task == "ad":
        p_ref, p_mixed = torch.softmax(ref, 1), torch.softmax(mixed, 1)
        # softmax is 1/2-Lipschitz: half the logits' float16 tolerance.
        p_tol = network_atol(ref, F16_UNTRAINED_RTOL) / 2
        assert_within(p_mixed, p_ref, p_tol, what="float16 probabilities")
    else:
        tol = network_atol(ref, F16_UNTRAINED_RTOL)
        assert_within(mixed, ref, tol, what="float16 brain age")


def test_engine_on_cuda_predicts_and_explains_like_the_cpu():
    ptid = list_examples()["PTID"].iloc[0]
    record = example_record(ptid)
    results = {}
    for device in ("cpu", "cuda"):
        engine = Engine(device=device)
        image = engine.prepare(example_image_bytes(ptid))
        pred = engine.predict(image, record)
        cam = engine.gradcam(image, record, pred.diagnosis)
        results[device] = (pred, cam)
    gpu, cpu = results["cuda"][0], results["cpu"][0]
    assert gpu.device.startswith("GPU")
    # The engine runs float16 autocast on CUDA (see tests/tolerances.py).
    for cls, p in cpu.probabilities.items():
        assert abs(gpu.probabilities[cls] - p) <= F16_PROB_ATOL, cls
    age_tol = network_atol(cpu.brain_age, F16_NETWORK_RTOL)  # about 0.7 y at 70
    assert abs(gpu.brain_age - cpu.brain_age) <= age_tol
    cam_gpu, cam_cpu = results["cuda"][1], results["cpu"][1]
    assert np.isfinite(cam_gpu).all()
    assert np.corrcoef(cam_gpu.ravel(), cam_cpu.ravel())[0, 1] > 0.95
