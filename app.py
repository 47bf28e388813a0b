"""MNIST Studio: draw a digit, watch the networks read it, train them live.

Run with `streamlit run app.py`. The page's panels live in studio/, one module each; everything
they show comes from the mnist_demo library.
"""

from __future__ import annotations

import streamlit as st

from studio import state
from studio.choose import first_answering, unusable_ui
from studio.draw import canvas_ui, draw_and_predict_ui, style_ui
from studio.report import report_ui
from studio.runs import runs_ui
from studio.save import save_ui
from studio.streamlit_internals import keep_keras_state
from studio.train import training_ui

INTRO = (
    "Draw a digit. Two classic networks (a convolutional network and a multilayer perceptron) "
    "read it the way they read MNIST. Train them again below and watch them learn."
)


def main(canvas=canvas_ui) -> None:
    """The page, top to bottom. Tests pass their own `canvas`: AppTest cannot draw."""
    keep_keras_state()
    st.set_page_config(page_title="MNIST Studio", page_icon="✍️", layout="wide")
    state.init_state()
    st.title("MNIST Studio")
    st.caption(INTRO)
    style_ui()
    saved = state.saved_models()
    draw_and_predict_ui(canvas, saved)
    unusable_ui(saved)
    report_ui(saved)
    st.divider()
    training_ui()
    runs_ui(saved)
    save_ui(saved)
    state.warm_up(first_answering(saved))


if __name__ == "__main__":
    main()
