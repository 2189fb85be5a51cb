"""AppTest helpers for the Streamlit pages (the scripts run headless, no browser)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT

APP = str(REPO_ROOT / "app.py")  # the navigation entry; the Patient page first
PATIENT = "pages/0_Patient.py"
EXPLAIN = "pages/1_Explain.py"
HYPERNETWORK = "pages/2_Hypernetwork.py"
TIMEOUT = 60  # the first run imports torch and loads the models


@pytest.fixture
def app() -> AppTest:
    """The app (on its default page, Patient) after its first run."""
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def figures(at: AppTest) -> list[dict[str, Any]]:
    """The plotly figures a run produced, as JSON dicts."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def plotly_array(value: object) -> np.ndarray:
    """A plotly JSON array: a list, or base64 ``{"dtype", "bdata", "shape"}``."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(n) for n in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape)
    return np.asarray(value, dtype=float)


def probabilities(at: AppTest) -> list[float]:
    """The CN / MCI / AD bars of the Patient page, as drawn (their element's
    ``data-probabilities``, in ``data-classes`` order)."""
    for el in at.get("html"):
        body = el.proto.body
        if 'class="hf-probabilities"' in body:
            classes = re.search(r'data-classes="([^"]*)"', body).group(1)
            assert classes.split(",") == ["CN", "MCI", "AD"], classes
            values = re.search(r'data-probabilities="([^"]*)"', body).group(1)
            return [float(v) for v in values.split(",")]
    raise AssertionError("no probability bars on the page")


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def number_input(at: AppTest, label: str) -> Any:
    return next(w for w in at.number_input if w.label == label)


def assert_clean(at: AppTest) -> None:
    """No exception element and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# Fragments -------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The ForwardMsgs of the latest AppTest run (AppTest keeps only the parsed
    tree; the messages carry each element's fragment id)."""
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    latest: list[Any] = []
    original = LocalScriptRunner.forward_msgs

    def forward_msgs(self: LocalScriptRunner) -> list[Any]:
        msgs = original(self)
        latest[:] = list(msgs)
        return msgs

    monkeypatch.setattr(LocalScriptRunner, "forward_msgs", forward_msgs)
    return latest


def fragment_of(
    messages: list[Any], kind: str, label: str | None = None, field: str = "label"
) -> str:
    """The fragment id ("" outside any fragment) of the first element of ``kind``
    (``"number_input"``, ``"metric"``, ``"plotly_chart"``...) whose ``field``
    (``"label"``; ``"body"`` for markdown) starts with ``label`` (any element of
    that kind when None)."""
    for msg in messages:
        if not msg.HasField("delta") or not msg.delta.HasField("new_element"):
            continue
        element = msg.delta.new_element
        if element.WhichOneof("type") != kind:
            continue
        if label is None or getattr(getattr(element, kind), field).startswith(label):
            return msg.delta.fragment_id
    raise AssertionError(f"no {kind} {label!r} was sent")
