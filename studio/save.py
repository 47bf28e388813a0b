"""Saving a model trained in this session: to weights/, where every session can choose it."""

from __future__ import annotations

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.errors import MnistDemoError
from mnist_demo.store import save_model
from studio import state

COMMAND = "trained in MNIST Studio (streamlit run app.py)"  # the sidecar's "command"


def save_ui() -> None:
    trained = st.session_state[state.TRAINED]
    if not trained:
        return
    st.subheader("Save a trained model")
    c1, c2, c3 = st.columns([1, 2, 1])
    kind = c1.selectbox("Model", list(trained), format_func=MODEL_KINDS.get, key=state.SAVE_KIND)
    name = c2.text_input("Name", value=f"my-{kind}", key=state.SAVE_NAME, max_chars=64)
    if c3.button("Save", key=state.SAVE, width="stretch"):
        result = trained[kind]
        try:
            path = save_model(result.model, name, result.metadata(COMMAND))
            st.success(f"Saved as {path.name}: it is now in the model choices of every session.")
        except MnistDemoError as e:
            st.error(str(e))
        except OSError as e:
            st.error(f"Could not save: {e}")
