"""Which class this page is in (mnist_demo/serving/classroom.py), as teacher or student, and what
that changes elsewhere on the page: the class's model as a choice, Train only when the teacher
allows it, the digits a student keeps sent to the class too.

The panels themselves are in classroom.py; this module is small so that the drawing side can
ask it without importing the training side.
"""

from __future__ import annotations

import secrets

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.errors import MnistDemoError
from mnist_demo.serving.classroom import Classes, ClassFull, ClassRoom
from studio import state
from studio.i18n import error_text, t

QUERY = "class"  # ?class=CODE joins that class
CLASS_CHOICE = "the class's model"  # the CHOICE value for the class's model of a kind


@st.cache_resource(show_spinner=False)
def classes() -> Classes:
    """The server's classes, shared by every session."""
    return Classes()


def me() -> str:
    """This page's id in a class (kept for the visit)."""
    if state.CLASS_ME not in st.session_state:
        st.session_state[state.CLASS_ME] = secrets.token_hex(8)
    return st.session_state[state.CLASS_ME]


def room() -> ClassRoom | None:
    """The class this page is in, ended or not, or None."""
    code = st.session_state.get(state.CLASS_CODE)
    return classes().get(code) if code else None


def teaching(r: ClassRoom | None = None) -> bool:
    r = r or room()
    return r is not None and r.teacher == me()


def studying(r: ClassRoom | None = None) -> bool:
    """In a class that has not ended, as a student."""
    r = r or room()
    return r is not None and r.ended is None and r.teacher != me()


def may_train() -> bool:
    """Whether this page may start a training: a student only when the teacher allows it."""
    r = room()
    return not studying(r) or r.allow_training


def class_models() -> dict:
    """{kind: TrainResult} the class this page studies in has made (a student's choices)."""
    r = room()
    return dict(r.models) if studying(r) else {}


def new_class_models(r: ClassRoom | None = None) -> list[str]:
    """The kinds whose class model this student's page has not taken up yet."""
    r = r or room()
    if not studying(r):
        return []
    seen = st.session_state.get(state.CLASS_VERSION) or {}
    return [kind for kind, v in r.versions.items() if seen.get(kind) != v]


def take_up_class_models(r: ClassRoom) -> None:
    """A class model new to this student's page answers its drawings from now (the student can
    choose another). Called by the page's own run before the selectors are drawn, never from a
    fragment: a value set there could lose to the widget state the browser sends next."""
    new = new_class_models(r)
    if not new:
        return
    seen = dict(st.session_state.get(state.CLASS_VERSION) or {})
    for kind in new:
        seen[kind] = r.versions[kind]
        st.session_state[state.CHOICE.format(kind)] = CLASS_CHOICE
    st.session_state[state.CLASS_VERSION] = seen


def class_predictor(kind: str):
    r = room()
    return _predictor(r.code, r.version, kind) if r is not None and kind in r.models else None


@st.cache_resource(show_spinner=False, max_entries=8)
def _predictor(code: str, version: int, kind: str):
    """One compiled predictor per class model, shared by every student of the class."""
    from mnist_demo.nets.inference import Predictor  # TensorFlow: see state.load_predictor

    return Predictor(classes().get(code).models[kind].model, xla=False)


def send(x8, digit: int) -> None:
    """A digit this page keeps goes to its class too, when it studies in one; the note says so."""
    r = room()
    if not studying(r):
        return
    try:
        r.send(me(), x8, digit)
        note = ("success", t("classlink.sent_to_class_as_a", code=r.code, digit=digit))
    except (ClassFull, ValueError, MnistDemoError) as e:
        note = ("warning", error_text(e))
    st.session_state[state.CLASS_NOTE] = note


def note_ui() -> None:
    note = st.session_state.pop(state.CLASS_NOTE, None)
    if note:
        getattr(st, note[0])(note[1])


def about_class_model(kind: str) -> str:
    res = class_models()[kind]
    return t(
        "classlink.the_class_s_test_accuracy",
        v1=MODEL_KINDS[kind],
        test_accuracy=res.test_accuracy,
        steps=res.steps,
        seconds=res.seconds,
    )
