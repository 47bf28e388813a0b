"""The page's only reaches into Streamlit's internals, quarantined here.

Streamlit has no public API for any of them. Each hook is looked up by name and raises
StreamlitHookMissing when a Streamlit release moves it (tests/app/test_streamlit_internals.py fails
then too), so that an upgrade can never turn one into a silent no-op.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import streamlit as st
from streamlit import runtime
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx, script_runner

CLEAN_UP_HOOK = "_clean_problem_modules"  # in streamlit.runtime.scriptrunner.script_runner
SESSION_HOOK = "is_active_session"  # a method of streamlit.runtime.Runtime
RECONNECT_GRACE_S = 10.0  # a reconnecting tab is briefly inactive


class StreamlitHookMissing(RuntimeError):
    """This Streamlit release no longer has a hook the page relies on."""


def hook(owner, name: str):
    """`owner.name`, or StreamlitHookMissing saying which Streamlit moved it."""
    found = getattr(owner, name, None)
    if not callable(found):
        where = getattr(owner, "__name__", type(owner).__name__)
        raise StreamlitHookMissing(
            f"Streamlit {st.__version__} has no {where}.{name}, which MNIST Studio relies on: "
            "install the Streamlit version requirements.txt names"
        )
    return found


def keep_keras_state() -> None:
    """Stop Streamlit clearing Keras after every script run.

    Streamlit's clean-up calls keras.backend.clear_session() after each run, which clears
    TensorFlow's kernel cache under a training running in another thread (measured: 500 instead
    of 6,000 samples/s while the page polls, and now and then a dtype error mid-trace). This app
    holds its models itself, draws no matplotlib figures (the clean-up's other half), and needs
    neither."""
    current = hook(script_runner, CLEAN_UP_HOOK)
    if current is not _no_clean_up:
        _streamlit_clean_up.append(current)
        setattr(script_runner, CLEAN_UP_HOOK, _no_clean_up)


_streamlit_clean_up: list[Callable[[], None]] = []  # what keep_keras_state replaced


def _no_clean_up() -> None:
    """Stands in for Streamlit's clean-up after a script run (see keep_keras_state)."""


def session_liveness() -> Callable[[], bool]:
    """A function that tells a background thread whether the browser session running this script
    is still connected; True for a tab reconnecting within RECONNECT_GRACE_S, and always True
    outside a Streamlit server (AppTest, a bare `python app.py`)."""
    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return lambda: True
    is_active = hook(Runtime.instance(), SESSION_HOOK)
    session_id = ctx.session_id
    gone_since: list[float] = []

    def alive() -> bool:
        if is_active(session_id):
            gone_since.clear()
            return True
        gone_since.append(gone_since[0] if gone_since else time.monotonic())
        return time.monotonic() - gone_since[0] < RECONNECT_GRACE_S

    return alive


# Where Streamlit logs a deferred download's failure, with its traceback.
DOWNLOAD_LOGGER = "streamlit.runtime.backend_operation_handler"


class QuietError(Exception):
    """Raised on purpose by a deferred download (the file it offered is gone): the page tells
    the visitor, and the log gets one line instead of a traceback."""


class _OneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        quiet = error if isinstance(error, QuietError) else getattr(error, "__cause__", None)
        if isinstance(quiet, QuietError):
            record.msg, record.args, record.exc_info = "download refused: %s", (quiet,), None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_download_errors() -> None:
    """A QuietError in a deferred download is logged in one line (see QuietError)."""
    logger = logging.getLogger(DOWNLOAD_LOGGER)
    if not any(isinstance(f, _OneLine) for f in logger.filters):
        logger.addFilter(_OneLine())
