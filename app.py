"""MNIST Studio: draw a digit, watch the networks read it, train them live.

Run with `streamlit run app.py`. The page's panels live in studio/, one module each; everything
they show comes from the mnist_demo library.
"""

from __future__ import annotations

import streamlit as st

from studio import classview, i18n, state
from studio.busy import busy_ui
from studio.choose import first_answering, unusable_ui
from studio.classroom import class_ui
from studio.draw import canvas_ui, draw_and_predict_ui, style_ui
from studio.i18n import t
from studio.owner import owner_ui
from studio.report import report_ui
from studio.runs import runs_ui
from studio.save import save_ui
from studio.streamlit_internals import keep_keras_state, quiet_download_errors
from studio.train import training_ui

INTRO = "app.draw_a_digit_two_classic"


def main(canvas=canvas_ui) -> None:
    """The page, top to bottom. Tests pass their own `canvas`: AppTest cannot draw."""
    keep_keras_state()
    quiet_download_errors()
    st.set_page_config(page_title="MNIST Studio", page_icon="✍️", layout="wide")
    state.init_state()
    i18n.choose_language()
    # The first stop for the keyboard: Train is some twenty Tab stops down the page.
    st.container(key="skip").markdown(t("app.skip_to_the_training"))
    st.container(key="page-title").title(t("app.mnist_studio"))
    with st.container(key="page-intro"):
        st.caption(t(INTRO))
    with st.container(horizontal=True, vertical_alignment="center", key="page-top"):
        in_class = classview.toggle_ui()  # one row with Start a class, even on a phone
        start = st.empty()
        i18n.switch_ui()
    class_ui(start)
    busy_ui()
    style_ui()
    owner_ui()
    saved = state.saved_models()
    if in_class:  # the canvas beside the training: one screen on a projector
        left, right = st.columns([3, 7], gap="medium")
        with left:
            draw_and_predict_ui(canvas, saved)
        with right:
            training_ui()
    else:
        draw_and_predict_ui(canvas, saved)
    unusable_ui(saved)
    report_ui(saved)
    if not in_class:
        st.divider()
        training_ui()
    runs_ui(saved)
    save_ui(saved)
    state.warm_up(first_answering(saved))


if __name__ == "__main__":
    main()
