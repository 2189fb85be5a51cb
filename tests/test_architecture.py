"""The layering of docs/ARCHITECTURE.md, enforced on the source (ast, no imports).

Layers, lowest first; a module may import from its own layer or lower:

1. ``errors``, ``config``, ``metrics``
2. ``data``, ``synth``, ``tasks``
3. ``models``
4. ``explain``, ``train``, ``evaluate``, ``viz`` (figure builders: HTML and plotly)
5. ``engine``, ``prediction``, ``cli``, ``__main__``, ``bench``, ``modelcard``,
   ``export``
6. ``ui`` (the package, the only Streamlit importer), then ``app.py`` and
   ``pages/``

Every import statement counts, including those inside functions and
``TYPE_CHECKING`` blocks. ``hyperfusion/__init__.py`` is exempt from the layer
rule: its ``load_model`` imports the models lazily, inside the function. Every
``__main__`` module (``python -m hyperfusion.train`` ...) sits on the CLI's layer:
it only hands its arguments to ``hyperfusion.cli``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGE = "hyperfusion"
LAYERS: dict[str, int] = {
    "errors": 1,
    "config": 1,
    "metrics": 1,
    "lru": 1,
    "data": 2,
    "tasks": 2,
    "synth": 2,
    "models": 3,
    "explain": 4,
    "train": 4,
    "evaluate": 4,
    "engine": 5,
    "cli": 5,
    "__main__": 5,
    "prediction": 5,
    "bench": 5,
    "bench_browser": 5,
    "bench_report": 5,
    "modelcard": 5,
    "export": 5,
    "warmup": 5,
    "viz": 4,
    "ui": 6,
}
# Names imported from the package root itself: ``__version__`` is plain data, and
# anything else (``load_model``) is re-exported from the models layer.
ROOT_LAYERS: dict[str, int] = {"__version__": 1}
ROOT_DEFAULT_LAYER = LAYERS["models"]
STREAMLIT_PACKAGE = "hyperfusion.ui"  # it and its modules, nothing else
PAGE_FORBIDDEN = ("torch", "nibabel")
PAGE_MAX_LINES = 150


def module_name(path: Path, root: Path = REPO_ROOT) -> str:
    """Dotted module name of a source file, e.g. ``hyperfusion.data.nifti_io``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(
    module: str, source: str, is_package: bool = False
) -> Iterator[str]:
    """Every absolute name that ``source`` imports, anywhere in the file.

    ``import a.b`` yields ``a.b`` and ``from a import b`` yields ``a.b`` (b may be a
    submodule or an attribute). Relative imports are resolved against ``module``
    (``is_package`` for an ``__init__.py``), as Python resolves them.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            yield from (f"{target}.{alias.name}" for alias in node.names)


def layer_of(module: str) -> int | None:
    """Layer of a ``hyperfusion`` module (None outside the package).

    Raises:
        KeyError: for a top-level module or subpackage that has no layer yet.
    """
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    if len(parts) == 1:
        return LAYERS["errors"]
    if parts[1] in LAYERS:
        return LAYERS[parts[1]]
    return ROOT_LAYERS.get(parts[1], ROOT_DEFAULT_LAYER)


def in_streamlit_package(module: str) -> bool:
    """Whether a module is the ``hyperfusion.ui`` package or one of its modules."""
    return module == STREAMLIT_PACKAGE or module.startswith(f"{STREAMLIT_PACKAGE}.")


def layer_violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """Upward imports and stray Streamlit imports in one module of the package."""
    problems = []
    top = module.split(".")[1] if "." in module else ""
    if module != PACKAGE and top not in LAYERS:
        problems.append(
            f"{module}: not in any layer; add it to LAYERS here and to "
            "docs/ARCHITECTURE.md"
        )
        return problems
    own = layer_of(module)
    if module.endswith(".__main__"):
        own = LAYERS["cli"]  # ``python -m hyperfusion.<command>`` shims call the CLI
    for target in sorted(set(imported_modules(module, source, is_package))):
        root = target.split(".")[0]
        if root == "streamlit" and not in_streamlit_package(module):
            problems.append(
                f"{module}: imports {target}; only {STREAMLIT_PACKAGE}.* may"
            )
        if module == PACKAGE:
            continue  # the lazy load_model import
        theirs = layer_of(target)
        if theirs is not None and own is not None and theirs > own:
            problems.append(
                f"{module} (layer {own}) imports {target} (layer {theirs}): "
                "upward import"
            )
    return problems


def page_violations(name: str, source: str) -> list[str]:
    """Problems of one Streamlit script (``app.py`` or a file in ``pages/``)."""
    problems = []
    for target in sorted(set(imported_modules(name, source))):
        if target.split(".")[0] in PAGE_FORBIDDEN:
            problems.append(f"{name}: imports {target}; call hyperfusion instead")
    n_lines = len(source.splitlines())
    if n_lines > PAGE_MAX_LINES:
        problems.append(f"{name}: {n_lines} lines, over {PAGE_MAX_LINES}; thin it")
    return problems


def page_name_problems(filename: str) -> list[str]:
    """A page file name must be plain ASCII, with no emoji and no '&'."""
    if not filename.isascii() or "&" in filename:
        return [f"pages/{filename}: use an ASCII name without emoji or '&'"]
    return []


def package_files() -> list[Path]:
    return sorted((REPO_ROOT / PACKAGE).rglob("*.py"))


def script_files() -> list[Path]:
    app = REPO_ROOT / "app.py"
    pages = sorted((REPO_ROOT / "pages").glob("*.py"))
    return ([app] if app.exists() else []) + pages


# The checkers, on synthetic sources: they must catch what they are meant to.


def test_checker_reports_upward_absolute_import() -> None:
    src = "from hyperfusion.models.registry import build_model\n"
    problems = layer_violations("hyperfusion.data.nifti_io", src)
    assert len(problems) == 1
    assert "upward import" in problems[0]
    assert "hyperfusion.models.registry" in problems[0]


def test_checker_reports_upward_relative_and_lazy_imports() -> None:
    src = (
        "from .. import engine\n"
        "def f():\n"
        "    from ..ui import page_header\n"
        "    import hyperfusion.cli\n"
    )
    problems = layer_violations("hyperfusion.models.layers", src)
    assert any("hyperfusion.engine" in p for p in problems)
    assert any("hyperfusion.ui" in p for p in problems)
    assert any("hyperfusion.cli" in p for p in problems)


def test_checker_allows_same_and_lower_layers() -> None:
    src = (
        "from hyperfusion import config\n"
        "from hyperfusion.errors import InvalidMRIError\n"
        "from . import blocks\n"
        "from .layers import HyperLinear\n"
        "from ..data.nifti_io import load_mri\n"
        "import numpy as np\n"
        "import torch\n"
    )
    assert layer_violations("hyperfusion.models.nets", src, is_package=True) == []
    assert layer_violations("hyperfusion.models.layers", src) == []


def test_checker_resolves_relative_imports() -> None:
    src = "from . import x\nfrom .. import y\nfrom ..a.b import c\n"
    assert list(imported_modules("hyperfusion.data.nifti_io", src)) == [
        "hyperfusion.data.x",
        "hyperfusion.y",
        "hyperfusion.a.b.c",
    ]
    assert list(imported_modules("hyperfusion.data", src, is_package=True)) == [
        "hyperfusion.data.x",
        "hyperfusion.y",
        "hyperfusion.a.b.c",
    ]
    assert list(imported_modules("x", "import a.b, c as d\n")) == ["a.b", "c"]


def test_checker_reports_streamlit_outside_ui() -> None:
    src = "import streamlit as st\n"
    assert any("streamlit" in p for p in layer_violations("hyperfusion.engine", src))
    assert layer_violations("hyperfusion.ui", src) == []
    assert layer_violations("hyperfusion.ui.panels", src) == []
    assert not in_streamlit_package("hyperfusion.uix")  # a name prefix is not it
    lazy = "def f():\n    from streamlit import session_state\n"
    assert layer_violations("hyperfusion.config", lazy)


def test_checker_puts_the_ui_package_on_top() -> None:
    src = "from hyperfusion.engine import Engine\nfrom . import state\n"
    assert layer_violations("hyperfusion.ui.cached", src) == []
    upward = "from hyperfusion.ui.state import current_ehr\n"
    problems = layer_violations("hyperfusion.engine", upward)
    assert len(problems) == 1 and "(layer 6)" in problems[0]


def test_checker_reports_modules_without_a_layer() -> None:
    problems = layer_violations("hyperfusion.utils", "import os\n")
    assert problems and "not in any layer" in problems[0]


def test_checker_reports_heavy_imports_and_long_pages() -> None:
    assert page_violations("pages/1_Explain.py", "import torch.nn\n")
    assert page_violations("app.py", "from nibabel import load\n")
    assert page_violations("pages/1_Explain.py", "x = 1\n" * (PAGE_MAX_LINES + 1))
    ok = "from hyperfusion import ui\n" + "x = 1\n" * (PAGE_MAX_LINES - 1)
    assert page_violations("pages/1_Explain.py", ok) == []


def test_checker_reports_bad_page_names() -> None:
    assert page_name_problems("3_What_if.py") == []
    assert page_name_problems("3_What_&_if.py")
    assert page_name_problems("1_\N{BRAIN}_Explain.py")
    assert page_name_problems("1_Erklärung.py")


# The real tree, as it stands.


def test_package_respects_layers_and_streamlit_boundary() -> None:
    files = package_files()
    assert any(f.name == "config.py" for f in files), "hyperfusion/ not found"
    problems = [
        problem
        for path in files
        for problem in layer_violations(
            module_name(path), path.read_text("utf-8"), path.name == "__init__.py"
        )
    ]
    assert not problems, "\n".join(problems)


def test_app_and_pages_stay_thin() -> None:
    problems = [
        problem
        for path in script_files()
        for problem in page_violations(
            path.relative_to(REPO_ROOT).as_posix(), path.read_text("utf-8")
        )
    ]
    assert not problems, "\n".join(problems)


def test_page_file_names_are_plain_ascii() -> None:
    pages = REPO_ROOT / "pages"
    names = sorted(p.name for p in pages.iterdir()) if pages.is_dir() else []
    problems = [problem for name in names for problem in page_name_problems(name)]
    assert not problems, "\n".join(problems)
