"""A class together, at the top of the page: "Start a class" gives a code, a link and its QR
code; a student who opens the link watches the teacher's training live (progress twice a
second, curves and live panel every 1.5 s), gets the class's model beside the shipped ones, and
sends digits to the class. The teacher sees who is here, the class's digits (filtered, each
removable) and fine-tunes on them; every student sees the before and after. Ending the class, or
the teacher's page gone for some minutes, ends it for everyone.
"""

from __future__ import annotations

import io

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.serving.jobs import ACTIVE, FINISHED
from studio import state
from studio.classgallery import gallery_ui
from studio.classlink import CLASS_CHOICE, QUERY, classes, me, room, teaching
from studio.progress import progress_ui
from studio.watch import curves_ui

PULSE_S = 0.5  # a student's page follows the teacher's training this often
CURVES_S = 3.0  # ... and redraws its curves and live panel this often
TEACHER_PULSE_S = 2.0  # the teacher's line (students here) and heartbeat
START_HELP = (
    "One training on every student's screen: students open the link (or scan the code), watch "
    "your training live, read their drawings with the class's model and send you their digits."
)


def class_ui(start) -> None:
    """The class's box at the top of the page: a join by link, or the class; before either,
    Start a class in `start` (beside the class view's toggle)."""
    _join_from_link()
    r = room()
    if r is None:
        start.button("Start a class", key="class_start", on_click=_start, help=START_HELP)
    elif teaching(r):
        _teacher_ui(r)
    else:
        _student_ui(r)


def join_link(code: str) -> str:
    base = st.context.url or ""
    return f"{base.rstrip('/')}/?{QUERY}={code}" if base else f"?{QUERY}={code}"


def qr_png(text: str) -> bytes:
    import segno  # pure Python: a QR code a projector shows and a phone reads

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=6, border=2)
    return buf.getvalue()


def _join_from_link() -> None:
    code = st.query_params.get(QUERY)
    if not code or state.CLASS_CODE in st.session_state:
        return
    r = classes().get(code)
    if r is None:
        st.session_state[state.CLASS_CODE] = None
        st.warning(f"There is no class {code[:12]} on this server (it may have ended).")
        return
    st.session_state[state.CLASS_CODE] = r.code
    r.looked(me())
    _choose_class_models(r)  # the class's models answer from the first drawing


def _start() -> None:
    st.session_state[state.CLASS_CODE] = classes().start(me()).code


def _teacher_ui(r) -> None:
    _sync(r)
    with st.container(border=True, key="class-teacher"):
        if r.ended:
            st.info(f"Class {r.code} has ended. {r.ended}")
            st.button("Start a new class", key="class_start", on_click=_start)
            return
        left, right = st.columns([4, 1], vertical_alignment="center")
        link = join_link(r.code)
        with left:
            st.markdown(f"**Class {r.code}** · students join at [{link}]({link})")
            st.fragment(run_every=TEACHER_PULSE_S)(_teacher_pulse)(r)
            c1, c2 = st.columns(2)
            c1.toggle(
                "Students may run their own",
                value=r.allow_training,
                key="class_allow",
                on_change=_allow,
                args=(r,),
                help="Off: students watch your training and start none of their own.",
            )
            c2.button("End the class", key="class_end", on_click=r.end)
        right.image(qr_png(link), caption=f"Scan to join {r.code}", width=150, output_format="PNG")
        st.fragment(run_every=TEACHER_PULSE_S)(gallery_ui)(r)


def _teacher_pulse(r) -> None:
    _sync(r)
    here, joined = r.here(), r.joined()
    st.caption(
        f"{here} student{'s' * (here != 1)} here now, {joined} joined in all.",
        help=f"A student counts as here while their page is open (it looks every {PULSE_S} s).",
    )


def _sync(r) -> None:
    """The teacher's page tells the class it is open, which training to watch, its models."""
    r.looked(me())
    job = st.session_state.get(state.JOB)
    if job is not None:
        r.job = job
    for kind, result in st.session_state[state.TRAINED].items():
        r.set_model(kind, result)


def _allow(r) -> None:
    r.allow_training = bool(st.session_state.get("class_allow"))


def _student_ui(r) -> None:
    with st.container(border=True, key="class-student"):
        if r.ended:
            st.warning(f"Class {r.code} has ended. {r.ended}")
            st.button("Leave the class", key="class_leave", on_click=_leave)
            return
        st.markdown(f"**Class {r.code}** · you watch the teacher's training here, live.")
        st.fragment(run_every=PULSE_S)(_student_pulse)(r)
        with st.container(key="class-curves"):
            st.fragment(run_every=CURVES_S)(_student_curves)(r)


def _student_pulse(r) -> None:
    r.looked(me())
    if r.ended:
        st.rerun(scope="app")  # the whole page says so, and its choices go back
    if st.session_state.get(state.CLASS_VERSION) != r.version:
        _choose_class_models(r)
        st.rerun(scope="app")
    job = r.job
    if job is None:
        st.caption("The teacher has not started a training yet: it shows here when they do.")
    else:
        view = job.view()
        if view.state in ACTIVE:
            progress_ui(view)
        elif view.state in FINISHED:
            st.caption(f"The teacher's {MODEL_KINDS[view.recipe.model]} training has ended.")
    if r.finetuned:
        st.success(r.finetuned)
    if not r.allow_training:
        st.caption("In this class the teacher trains for everyone.")


def _student_curves(r) -> None:
    job = r.job
    if job is not None and not r.ended:
        curves_ui(job.view().events, own=False, one_chart=True)


def _choose_class_models(r) -> None:
    """A new class model answers this student's drawings from now (they can choose another)."""
    st.session_state[state.CLASS_VERSION] = r.version
    for kind in r.models:
        st.session_state[state.CHOICE.format(kind)] = CLASS_CHOICE


def _leave() -> None:
    st.session_state[state.CLASS_CODE] = None
    if QUERY in st.query_params:
        del st.query_params[QUERY]
