"""A small element tree of an HTML string (the standard library's parser), for tests
of what the app hands to ``st.html``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "br", "col", "hr", "img", "input", "meta", "source", "wbr"}


@dataclass
class Node:
    """One element: its tag, attributes, children and text (in document order)."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def elements(self) -> Iterator[Node]:
        """This element and every element below it, depth first."""
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.elements()

    def find_all(self, match: Callable[[Node], bool]) -> list[Node]:
        return [n for n in self.elements() if match(n)]

    def by_class(self, name: str) -> list[Node]:
        """Elements whose ``class`` attribute lists ``name``."""
        return self.find_all(lambda n: name in n.attrs.get("class", "").split())

    def by_tag(self, tag: str) -> list[Node]:
        return self.find_all(lambda n: n.tag == tag)

    def text(self, sep: str = "") -> str:
        """The text inside, ``sep`` between the texts of child elements."""
        parts = [c if isinstance(c, str) else c.text(sep) for c in self.children]
        return sep.join(p for p in parts if p)

    def style(self) -> dict[str, str]:
        """The inline ``style`` as property → value."""
        found = {}
        for item in self.attrs.get("style", "").split(";"):
            name, colon, value = item.partition(":")
            if colon:
                found[name.strip()] = value.strip()
        return found


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(text: str) -> Node:
    """The elements of ``text`` under a ``root`` node."""
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root


def rgb(css: str) -> tuple[int, int, int]:
    """``rgb(1, 2, 3)`` or ``#010203`` as integers."""
    if css.startswith("#"):
        return tuple(int(css[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return r, g, b


def percent(css: str) -> float:
    """``"66.67%"`` as the fraction 0.6667."""
    assert css.endswith("%"), css
    return float(css[:-1]) / 100
