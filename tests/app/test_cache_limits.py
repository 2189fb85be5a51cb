"""Bounded memory: every cache of what sessions compute keeps a bounded number of
entries, each for a bounded time (``hyperfusion.lru.CACHE_TTL_S``), so that
30 sessions, or a day of them, cannot grow the server without end."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hyperfusion.lru import CACHE_TTL_S
from hyperfusion.ui import cached, scan_upload
from tests.conftest import REPO_ROOT

UI = REPO_ROOT / "hyperfusion" / "ui"
# Cached functions that may keep their entries: shipped data, not a session's.
PERMANENT = {
    "_prepare_example": "the bundled examples (6 images, read-only)",
    "_metrics": "weights/metrics.json, one entry per version of the file",
}


def test_the_shared_stores_are_bounded_in_size_and_time() -> None:
    scan_upload._store.clear()
    cached._map_store.clear()
    uploads, maps = scan_upload._store(), cached._map_store()
    assert (uploads.size, uploads.ttl_s) == (scan_upload.STORE_SIZE, CACHE_TTL_S)
    assert maps.ttl_s == CACHE_TTL_S and 0 < maps.size <= 128


def _cache_decorators(path: Path) -> list[tuple[str, bool, dict[str, ast.expr]]]:
    """(function, takes arguments, decorator keywords) of each ``st.cache_data`` /
    ``st.cache_resource`` function of a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            target = call.func if call else deco
            if isinstance(target, ast.Attribute) and target.attr in (
                "cache_data",
                "cache_resource",
            ):
                keywords = {k.arg: k.value for k in call.keywords} if call else {}
                takes = bool(node.args.args or node.args.kwonlyargs)
                found.append((node.name, takes, keywords))
    return found


@pytest.mark.parametrize("path", sorted(UI.glob("*.py")), ids=lambda p: p.name)
def test_every_cache_of_session_results_has_a_size_and_a_ttl(path: Path) -> None:
    for name, takes_arguments, keywords in _cache_decorators(path):
        if not takes_arguments:
            continue  # one entry: the engine, a store
        assert "max_entries" in keywords, f"{path.name}: {name} has no max_entries"
        if name not in PERMANENT:
            assert "ttl" in keywords, f"{path.name}: {name} has no ttl"


def test_the_checker_sees_the_caches() -> None:
    names = {name for name, _, _ in _cache_decorators(UI / "cached.py")}
    assert {"get_engine", "_gradcam", "_slice_figure", "_map_store"} <= names
