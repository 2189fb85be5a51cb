"""What every page has: the header with the disclaimer and the untrained-weights
warning, the current patient in the sidebar, and the error boundary around each
section (:func:`run_safely`). The page config is set once, by the navigation
(:mod:`hyperfusion.ui.navigation`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import streamlit as st

from hyperfusion.errors import HyperFusionError
from hyperfusion.tasks import TASK_NAMES
from hyperfusion.ui import cached, link, state

LOG = logging.getLogger(__name__)
DISCLAIMER = (
    "Research and teaching tool, **not a medical device**. Predictions come from "
    "models trained on synthetic data and must not inform any clinical decision."
)


def page_header(
    title: str,
    caption: str | None = None,
    models_of: tuple[str, ...] = (),
    sidebar: bool = True,
) -> None:
    """Title, optional caption, the disclaimer, the untrained-weights warning (for
    the HyperFusion models, or every model of the ``models_of`` tasks), a shared
    link's warning and the sidebar (``sidebar=False``: the page draws
    :func:`sidebar_summary` itself, e.g. in the fragment that edits the EHR)."""
    state.init_state()
    st.title(title)
    if caption:
        st.caption(caption)
    disclaimer()
    untrained_banner(models_of)
    link.show_warning()
    if sidebar:
        sidebar_summary()


def disclaimer() -> None:
    """The not-a-medical-device line every page shows."""
    st.info(DISCLAIMER, icon="ℹ️")


def untrained_banner(models_of: tuple[str, ...] = ()) -> None:
    """A loud warning while models run on untrained placeholder weights, naming
    them when only some do. Checks the HyperFusion model of every task, or every
    model of the ``models_of`` tasks."""
    from hyperfusion.modelcard.card import untrained_notice

    engine = cached.get_engine()
    models = [(t, n) for t in models_of for n in engine.model_names(t)] or [
        (t, "hyperfusion") for t in TASK_NAMES
    ]
    untrained = [(t, n) for t, n in models if not _is_trained(engine, t, n)]
    notice = untrained_notice(untrained, len(models))
    if notice:
        st.warning(notice, icon="⚠️")


def _is_trained(engine: Any, task: str, name: str) -> bool:
    """Whether trained weights back a model; a checkpoint that cannot be read (yet:
    training may be writing it) counts as untrained, and the page shows its error
    where it uses the model."""
    try:
        return bool(engine.is_trained(task, name))
    except HyperFusionError:
        return False


def sidebar_summary() -> None:
    """The current patient in the sidebar, on every page, and what its link
    holds."""
    rec = st.session_state.get("ehr", {})
    age = rec.get("AGE")
    sex = rec.get("PTGENDER") or "sex unknown"
    with st.sidebar:
        st.markdown("**Current patient**")
        st.caption(
            f"{state.subject_label()}  \n{sex}, "
            f"{'age unknown' if age is None else f'{age:.0f} years'} · "
            f"{sum(v is None for v in rec.values())} fields unknown"
        )
        st.caption(link.caption(), help=link.PRIVACY_HELP)


def warm_up_in_background() -> None:
    """Once a page is drawn, start computing what the other pages' first visits
    need for the current image (:mod:`hyperfusion.warmup`; once per image)."""
    from hyperfusion import warmup

    try:
        image = cached.current_image()
    except HyperFusionError:
        return  # no usable image: the page already says why
    warmup.start(cached.get_engine(), image, state.current_ehr())


@contextlib.contextmanager
def run_safely(what: str = "This section") -> Iterator[None]:
    """Show user errors as one line and unexpected ones without a traceback; the
    page keeps running and session state is untouched. A fragment's rerun runs its
    sections here too, so the background warm-up waits for it
    (:func:`hyperfusion.warmup.serving`)."""
    from hyperfusion import warmup

    try:
        with warmup.serving():
            yield
    except HyperFusionError as exc:
        st.error(str(exc))
    except Exception as exc:  # never show a traceback to a user
        LOG.exception("%s failed", what)
        st.error(f"{what} could not be shown ({type(exc).__name__}); see the logs.")
