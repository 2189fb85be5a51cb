"""The background warm-up: after it, no other page's first visit encodes the image
again; it runs once per image, at the lowest CPU priority, and a failure ends it
quietly. The app starts it once a page is drawn."""

from __future__ import annotations

import gc
import logging
import threading
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from hyperfusion import warmup
from hyperfusion.data.templates import load_template
from hyperfusion.engine import Engine
from hyperfusion.tasks import TASK_NAMES
from tests.app.conftest import APP, TIMEOUT

RECORD = {"AGE": 74, "PTGENDER": "Female", "PTEDUCAT": 14, "APOE4": 1}


@pytest.mark.slow
def test_after_the_warm_up_no_model_encodes_the_image_again(tmp_path) -> None:
    # An empty weights folder: every model is its untrained placeholder (fast).
    engine = Engine(device="cpu", weights_dir=tmp_path)
    image = engine.prepare(load_template(resolution=2))
    try:
        done = warmup.warm_up(engine, image, RECORD)
    finally:
        gc.unfreeze()  # its last step freezes this test process's objects
    assert done == len(list(warmup.steps(engine, image, RECORD)))
    encoded = []
    for task in TASK_NAMES:
        for name in engine.model_names(task):
            for ckpt in engine.checkpoints(task, name):
                ckpt.model.encode_image = lambda *a, n=name: encoded.append(n)
    for name in engine.model_names("ad"):
        engine.predict(image, {**RECORD, "AGE": 60}, ad_model=name)
    for name in engine.model_names("brain-age"):
        engine.predict(image, RECORD, brain_age_model=name)
    assert encoded == []  # every model's image features were already cached


def test_start_runs_once_per_image(monkeypatch) -> None:
    monkeypatch.setattr(warmup, "ENABLED", True)
    images = []

    def run(engine: object, image: SimpleNamespace, record: object) -> int:
        images.append(image.key)
        return 0

    engine, image, other = object(), SimpleNamespace(key="a"), SimpleNamespace(key="b")
    warmup.start(engine, image, RECORD, run=run).join()
    assert warmup.start(engine, image, RECORD, run=run) is None  # already warm
    warmup.start(engine, other, RECORD, run=run).join()  # a new image: again
    assert images == ["a", "b"]


def test_no_step_starts_while_a_script_runs() -> None:
    """Each step waits until no script runs and none ended for QUIET_S: a step
    seen starting while ``serving`` is held would be an edit's time taken."""
    seen = []

    def checkpoints(task: str, name: str) -> None:
        seen.append(warmup.idle(0.0))

    names = lambda task: ("a", "b")  # noqa: E731
    engine = SimpleNamespace(model_names=names, checkpoints=checkpoints)
    with warmup.serving():
        thread = threading.Thread(
            target=warmup.warm_up, args=(engine, SimpleNamespace(key="e"), RECORD)
        )
        thread.start()
        thread.join(timeout=3 * warmup.QUIET_S + 0.5)
        assert thread.is_alive() and seen == []  # still waiting
    thread.join()
    # every load ran with no script running (the next step, predict, then fails
    # on this stub and ends the warm-up)
    assert seen == [True] * (2 * len(TASK_NAMES))


def test_nothing_starts_while_warm_ups_are_off() -> None:
    # tests/conftest.py turns them off for every test not marked warm_up
    assert warmup.start(object(), SimpleNamespace(key="c"), RECORD) is None


def test_a_failing_step_ends_the_warm_up_with_a_warning(caplog) -> None:
    def broken(task: str, name: str) -> None:
        raise RuntimeError("disk gone")

    engine = SimpleNamespace(model_names=lambda task: ("first",), checkpoints=broken)
    with caplog.at_level(logging.WARNING, logger=warmup.__name__):
        assert warmup.warm_up(engine, SimpleNamespace(key="d"), RECORD) == 0
    assert "warm-up stopped after 0 steps" in caplog.text


def test_the_app_starts_the_warm_up_once_the_page_is_drawn(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(warmup, "start", lambda *args: calls.append(args))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    engine, image, record = calls[-1]
    assert record == at.session_state["ehr"]
    assert image.key and hasattr(engine, "predict")
