"""A small shared cache with a size and an idle-time limit (:class:`LRUStore`).

Every cache of what a session computed (image features, maps, figures, prepared
images) drops an entry an hour after it was made (Streamlit's caches) or last used
(:class:`LRUStore`), and keeps a bounded number: docs/PRIVACY.md. The models and
the shipped examples stay.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

CACHE_TTL_S = 3600


class LRUStore:
    """Values shared by every session, locked: at most ``size`` (the least
    recently used goes first), each dropped once unused for ``ttl_s`` seconds
    (checked whenever the store is used). The engine's per-image features, the
    app's explanation maps and its prepared uploads."""

    def __init__(
        self,
        size: int,
        ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size, self.ttl_s, self._clock = size, ttl_s, clock
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._items)

    def _expire(self) -> None:
        """Drop what was last used over ``ttl_s`` ago (the oldest come first)."""
        cutoff = self._clock() - self.ttl_s
        while self._items and next(iter(self._items.values()))[0] <= cutoff:
            self._items.popitem(last=False)

    def get(self, key: tuple) -> Any:
        """The value kept for ``key`` (now the most recently used), else None."""
        with self._lock:
            self._expire()
            found = self._items.get(key)
            if found is None:
                return None
            self._items[key] = (self._clock(), found[1])
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: tuple, value: Any) -> None:
        """Keep ``value`` for ``key``, dropping the least recently used over
        ``size``."""
        with self._lock:
            self._items[key] = (self._clock(), value)
            self._items.move_to_end(key)
            self._expire()
            while len(self._items) > self.size:
                self._items.popitem(last=False)


__all__ = ["CACHE_TTL_S", "LRUStore"]
