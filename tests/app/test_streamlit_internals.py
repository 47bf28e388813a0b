"""The page's hooks into Streamlit's internals are where it expects them, and do their work.

If a Streamlit release renames or moves one, these tests fail (and the page says so at start)
rather than the hook silently doing nothing.
"""

from __future__ import annotations

import inspect

import keras
import pytest
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from studio import streamlit_internals as internals


def keras_script():
    """A page that keeps a Keras variable across script runs, as the app keeps its models."""
    import keras
    import streamlit as st

    if "weights" not in st.session_state:
        st.session_state["weights"] = keras.Variable([1.0, 2.0], name="kept")
    st.markdown(str(float(st.session_state["weights"].numpy().sum())))


@pytest.fixture
def clear_sessions(monkeypatch):
    """Counts calls of keras.backend.clear_session, and restores Streamlit's own clean-up."""
    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(1))
    original = (internals._streamlit_clean_up or [None])[0]
    if original is not None:  # an earlier test replaced it: put Streamlit's back for this one
        monkeypatch.setattr(script_runner, internals.CLEAN_UP_HOOK, original)
    monkeypatch.setattr(internals, "_streamlit_clean_up", [])
    return calls


def test_streamlit_clears_keras_after_every_run_unless_told_not_to(clear_sessions, monkeypatch):
    at = AppTest.from_function(keras_script).run()
    assert not at.exception and clear_sessions, "Streamlit no longer clears Keras: drop the patch"
    clear_sessions.clear()
    streamlits = internals.hook(script_runner, internals.CLEAN_UP_HOOK)
    monkeypatch.setattr(script_runner, internals.CLEAN_UP_HOOK, streamlits)  # back after the test
    internals.keep_keras_state()
    at.run()
    at.run()
    assert not at.exception and at.markdown[0].value == "3.0"
    assert clear_sessions == []


def test_the_clean_up_hook_missing_is_an_error_not_a_no_op(monkeypatch):
    monkeypatch.delattr(script_runner, internals.CLEAN_UP_HOOK, raising=False)
    with pytest.raises(internals.StreamlitHookMissing, match=internals.CLEAN_UP_HOOK):
        internals.keep_keras_state()


def test_the_session_hook_is_a_method_of_the_runtime():
    method = internals.hook(Runtime, internals.SESSION_HOOK)
    assert list(inspect.signature(method).parameters) == ["self", "session_id"]


def test_the_session_hook_missing_is_an_error_not_a_no_op(monkeypatch):
    monkeypatch.delattr(Runtime, internals.SESSION_HOOK, raising=False)
    with pytest.raises(internals.StreamlitHookMissing, match=internals.SESSION_HOOK):
        internals.hook(Runtime, internals.SESSION_HOOK)
