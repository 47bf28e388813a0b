"""The class view: one screen on a projector (1280x720, 1024x768) with the canvas, both networks'
readings, the training's controls, its curve and the live panel, without scrolling.

A toggle at the top of the page switches it on; `?view=class` in the link opens it (the toggle
keeps the link in step, so a teacher can bookmark it). The normal page keeps its order for a
student's laptop. In the class view the page's chrome shrinks (no header band, no intro), the
canvas sits beside the training, the training form folds into "Settings", and one chart (the
mistakes) stands beside the live panel in larger type; everything else is below, a scroll or a
click away.
"""

from __future__ import annotations

import streamlit as st

from studio import state
from studio.i18n import t

QUERY = "view"  # ?view=class
CLASS = "class"
LABEL = "classview.class_view"
# Streamlit's top band (a 60 px header and 6rem of padding), the title, the intro and the panels'
# headings go; the choosers lose their labels (the metrics below them name the network).
STYLE = (
    "<style>[data-testid=stHeader]{display:none}"
    "[data-testid=stMainBlockContainer]{padding-top:.6rem;padding-bottom:1rem}"
    ".st-key-page-intro,.st-key-page-title,.st-key-skip,[class*=st-key-head-]{display:none}"
    "h3{font-size:1.15rem!important;padding:.1rem 0!important}"
    "[data-testid=stMainBlockContainer] h1{font-size:1.6rem!important;padding:0!important}"
    "[class*=st-key-choice-] [data-testid=stWidgetLabel]{display:none}"
    ".st-key-pen,.st-key-canvas-hint{display:none}</style>"
)


def on() -> bool:
    """Whether this page is in the class view."""
    return bool(st.session_state.get(state.CLASS_VIEW))


def toggle_ui() -> bool:
    """The toggle, in step with the link: a link with ?view=class opens the class view."""
    if state.CLASS_VIEW not in st.session_state:
        st.session_state[state.CLASS_VIEW] = st.query_params.get(QUERY) == CLASS
    st.toggle(
        t(LABEL),
        key=state.CLASS_VIEW,
        on_change=_follow_link,
        help=t("classview.one_screen_for_a_projector"),
    )
    if on():
        st.html(STYLE)
    return on()


def _follow_link() -> None:
    if st.session_state.get(state.CLASS_VIEW):
        st.query_params[QUERY] = CLASS
    elif QUERY in st.query_params:
        del st.query_params[QUERY]
