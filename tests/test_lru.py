"""The shared bounded cache (``hyperfusion.lru.LRUStore``): at most ``size``
entries, the least recently used dropped first, and each dropped once unused for
``ttl_s`` seconds; the engine keeps its per-image features in one."""

from __future__ import annotations

import numpy as np

from hyperfusion.data.templates import load_template
from hyperfusion.engine import Engine
from hyperfusion.lru import CACHE_TTL_S, LRUStore
from hyperfusion.tasks import AD


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_store_keeps_the_most_recently_used_up_to_its_size() -> None:
    store = LRUStore(2, ttl_s=60, clock=Clock())
    store.put(("a",), 1)
    store.put(("b",), 2)
    assert store.get(("a",)) == 1  # now "b" is the least recently used
    store.put(("c",), 3)
    assert (store.get(("a",)), store.get(("b",)), store.get(("c",))) == (1, None, 3)
    assert len(store) == 2


def test_the_store_drops_what_was_not_used_for_its_ttl() -> None:
    clock = Clock()
    store = LRUStore(8, ttl_s=60, clock=clock)
    store.put(("old",), "x")
    store.put(("used",), "y")
    clock.now += 40
    assert store.get(("used",)) == "y"  # used again: its hour starts anew
    clock.now += 30  # "old" unused for 70 s, "used" for 30 s
    assert store.get(("old",)) is None
    assert store.get(("used",)) == "y"
    clock.now += 61
    assert len(store) == 0


def test_the_engines_image_features_are_bounded_and_expire(tmp_path) -> None:
    """A feature entry per (image, task, model), computed once while used, gone
    after an hour unused: a later request computes it again, the same."""
    engine = Engine(device="cpu", weights_dir=tmp_path)  # random weights
    assert 0 < engine._features.size <= 128 and engine._features.ttl_s == CACHE_TTL_S
    clock = Clock()
    engine._features = LRUStore(engine._features.size, CACHE_TTL_S, clock=clock)
    image = engine.prepare(load_template())
    first = engine._image_features(image, AD, "hyperfusion")
    assert engine._image_features(image, AD, "hyperfusion") is first
    assert len(engine._features) == 1
    clock.now += CACHE_TTL_S + 1
    again = engine._image_features(image, AD, "hyperfusion")
    assert again is not first
    for old, new in zip(first, again, strict=True):
        for a, b in zip(old, new, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
