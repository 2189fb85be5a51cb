"""The app's navigation: ``app.py`` is the entry script and runs :func:`run`, which
sets the page config once, reads the shareable link on a session's first run,
keeps the link in step with the patient, and runs the chosen page of ``pages/``.

Every file in ``pages/`` is a page, in file-name order, titled after its name
(``3_What_if.py`` reads "What if"); the first, ``0_Patient.py``, is the default,
served at the app's root. The patient lives in session state, so every page
sees the same one.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from hyperfusion.ui import link, page, prefetch, state

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"


def page_title(path: Path) -> str:
    """A page file's title: its name without the ordering number.

    Example:
        >>> page_title(Path("pages/3_What_if.py"))
        'What if'
    """
    return re.sub(r"^\d+_", "", path.stem).replace("_", " ")


def page_files(folder: Path = PAGES_DIR) -> list[Path]:
    """The page scripts, in the order of their file names."""
    return sorted(folder.glob("*.py"))


def pages(folder: Path = PAGES_DIR) -> list[st.Page]:
    """One titled ``st.Page`` per page file; the first is the default. (No icons:
    a material icon's name would be part of the link's text.)"""
    return [
        st.Page(path, title=page_title(path), default=i == 0)
        for i, path in enumerate(page_files(folder))
    ]


def run() -> None:
    """The entry script's body: page config, the link, then the chosen page (the
    background warm-up waits while it runs)."""
    from hyperfusion import warmup

    st.set_page_config(layout="wide")
    with warmup.serving():
        with page.run_safely("The shared link"):
            state.init_state()
            link.restore_once()
        current = st.navigation(pages())
        with page.run_safely("The shared link"):
            link.sync()
        current.run()
    with page.run_safely("The warm-up"):
        page.warm_up_in_background()
        prefetch.browser_code()
