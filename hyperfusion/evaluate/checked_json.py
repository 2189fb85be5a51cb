"""Reading a parsed JSON object key by key, each value checked, so that a wrong
file fails on its first wrong key with one line that names it.

>>> f = Fields({"n": 3, "x": "a"}, "top")
>>> f.get("n", integer)
3
>>> f.done()
Traceback (most recent call last):
...
hyperfusion.evaluate.checked_json.LayoutError: top.x is not a key of this layout
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class LayoutError(Exception):
    """One key of the file is wrong (the message names it)."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def number(value: object, where: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value):
        raise LayoutError(f"{where} is {_shown(value)}, not a finite number")
    return value


def integer(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise LayoutError(f"{where} is {_shown(value)}, not an integer")
    return value


def text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise LayoutError(f"{where} is {_shown(value)}, not a string")
    return value


def flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise LayoutError(f"{where} is {_shown(value)}, not true or false")
    return value


def as_list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise LayoutError(f"{where} is {_shown(value)}, not a list")
    return value


class Fields:
    """One JSON object being read: typed lookups that name the key when it is wrong,
    and :meth:`done`, which refuses the keys no reader asked for."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise LayoutError(f"{where or 'the file'} is {_shown(data)}, not an object")
        self.data, self.where, self._asked = data, where, set()

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(
        self,
        key: str,
        check: Callable[[object, str], T],
        null: bool = False,
        absent: bool = False,
    ) -> T | None:
        """``data[key]`` checked; ``null``: may be null; ``absent``: may be missing
        or null (both read as None)."""
        self._asked.add(key)
        if key not in self.data:
            if absent:
                return None
            raise LayoutError(f"{self.path(key)} is missing")
        value = self.data[key]
        if value is None and (null or absent):
            return None
        return check(value, self.path(key))

    def nested(
        self,
        key: str,
        reader: Callable[[Fields], T],
        null: bool = False,
        absent: bool = False,
    ) -> T | None:
        """The object at ``key`` read by ``reader`` (None where ``null`` or
        ``absent`` allow it, as in :meth:`get`)."""
        value = self.get(key, lambda v, where: v, null, absent)
        if value is None and key in self.data and not (null or absent):
            raise LayoutError(f"{self.path(key)} is null, not an object")
        return None if value is None else read_object(reader, value, self.path(key))

    def mapping(
        self, key: str, reader: Callable[[Fields], T], names: Sequence[str] = ()
    ) -> dict[str, T]:
        """The object at ``key`` as name -> ``reader`` of each value; ``names``:
        the only names accepted (any when empty)."""
        f = Fields(self.get(key, lambda v, where: v), self.path(key))
        for name in f.data:
            if names and name not in names:
                raise LayoutError(
                    f"{f.path(name)} is not a task; accepted: {', '.join(names)}"
                )
        return {name: f.nested(name, reader) for name in f.data}

    def sequence(
        self, key: str, reader: Callable[[Fields], T], absent: bool = False
    ) -> tuple[T, ...] | None:
        """The list at ``key``, each item read by ``reader``."""
        items = self.get(key, as_list, absent=absent)
        if items is None:
            return None
        return tuple(
            read_object(reader, item, f"{self.path(key)}[{i}]")
            for i, item in enumerate(items)
        )

    def unasked(self) -> list[str]:
        """The keys no lookup has asked for yet, in file order."""
        return [k for k in self.data if k not in self._asked]

    def done(self) -> None:
        extra = self.unasked()
        if extra:
            raise LayoutError(f"{self.path(extra[0])} is not a key of this layout")


def read_object(reader: Callable[[Fields], T], data: object, where: str) -> T:
    f = Fields(data, where)
    result = reader(f)
    f.done()
    return result


__all__ = [
    "Fields",
    "LayoutError",
    "as_list",
    "flag",
    "integer",
    "number",
    "read_object",
    "text",
]
