"""The house rules of docs/ARCHITECTURE.md, checked on the source (ast, no imports):
modules stay short, functions stay short, and only ``hyperfusion/tasks.py`` knows
what a task's name means."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGE_DIR = REPO_ROOT / "hyperfusion"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
TASKS_MODULE = PACKAGE_DIR / "tasks.py"
# A comparison with a task's name: ``task == "ad"``, ``"brain-age" != name`` ...
TASK_BRANCH = re.compile(
    r"""[=!]=\s*["'](ad|brain-age)["']|["'](ad|brain-age)["']\s*[=!]="""
)


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``name (N lines)`` of every function or method longer than ``limit`` lines,
    from its ``def`` line (decorators excluded) to its last line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            n = node.end_lineno - node.lineno + 1
            if n > limit:
                found.append(f"{node.name} ({n} lines)")
    return found


def task_branches(source: str) -> list[int]:
    """Line numbers that compare something with a task's name."""
    return [
        i for i, line in enumerate(source.splitlines(), 1) if TASK_BRANCH.search(line)
    ]


def package_sources() -> list[tuple[Path, str]]:
    return [(p, p.read_text("utf-8")) for p in sorted(PACKAGE_DIR.rglob("*.py"))]


# The checkers, on synthetic sources.


def test_long_function_checker_counts_from_def_to_last_line() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES - 1))
    assert long_functions(f"def ok():\n{body}") == []
    too_long = f"def f():\n{body}    return 0\n"
    assert long_functions(too_long) == [f"f ({MAX_FUNCTION_LINES + 1} lines)"]
    method = "class A:\n" + "".join(f"    {line}\n" for line in too_long.splitlines())
    assert long_functions(method) == [f"f ({MAX_FUNCTION_LINES + 1} lines)"]


def test_task_branch_checker_finds_both_spellings_and_sides() -> None:
    src = 'if task == "ad":\n    pass\nif "brain-age" != t:\n    pass\nx = {"ad": 1}\n'
    assert task_branches(src) == [1, 3]


# The real tree.


def test_no_module_is_over_the_limit() -> None:
    over = [
        f"{p.relative_to(REPO_ROOT)}: {len(s.splitlines())} lines"
        for p, s in package_sources()
        if len(s.splitlines()) > MAX_MODULE_LINES
    ]
    assert not over, "\n".join(over)


def test_no_function_is_over_the_limit() -> None:
    over = [
        f"{p.relative_to(REPO_ROOT)}: {name}"
        for p, s in package_sources()
        for name in long_functions(s)
    ]
    assert not over, "\n".join(over)


def test_only_the_tasks_module_branches_on_a_task_name() -> None:
    found = [
        f"{p.relative_to(REPO_ROOT)}:{line}"
        for p, s in package_sources()
        if p != TASKS_MODULE
        for line in task_branches(s)
    ]
    assert not found, "ask hyperfusion.tasks instead:\n" + "\n".join(found)
