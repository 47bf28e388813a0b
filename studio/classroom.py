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
from studio.classlink import (
    QUERY,
    classes,
    me,
    new_class_models,
    room,
    take_up_class_models,
    teaching,
)
from studio.i18n import t
from studio.progress import progress_ui
from studio.watch import curves_ui

PULSE_S = 0.5  # a student's page follows the teacher's training this often
CURVES_S = 3.0  # ... and redraws its curves and live panel this often
TEACHER_PULSE_S = 2.0  # the teacher's line (students here) and heartbeat
START_HELP = "classroom.one_training_on_every_student"


def class_ui(start) -> None:
    """The class's box at the top of the page: a join by link, or the class; before either,
    Start a class in `start` (beside the class view's toggle)."""
    _join_from_link()
    r = room()
    if r is None:
        start.button(
            t("classroom.start_a_class"), key="class_start", on_click=_start, help=t(START_HELP)
        )
    elif teaching(r):
        _teacher_ui(r)
    else:
        take_up_class_models(r)  # in the page's own run, before the selectors are drawn
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
        st.warning(t("classroom.there_is_no_class_on", v1=code[:12]))
        return
    st.session_state[state.CLASS_CODE] = r.code
    r.looked(me())  # the class's models answer from the first drawing (choose.py takes them up)


def _start() -> None:
    st.session_state[state.CLASS_CODE] = classes().start(me()).code


def _teacher_ui(r) -> None:
    _sync(r)
    with st.container(border=True, key="class-teacher"):
        if r.ended:
            st.info(t("classroom.class_has_ended", code=r.code, ended=ended_text(r)))
            st.button(t("classroom.start_a_new_class"), key="class_start", on_click=_start)
            return
        left, right = st.columns([4, 1], vertical_alignment="center")
        link = join_link(r.code)
        with left:
            st.markdown(t("classroom.class_students_join_at", code=r.code, link=link))
            st.fragment(run_every=TEACHER_PULSE_S)(_teacher_pulse)(r)
            c1, c2 = st.columns(2)
            c1.toggle(
                t("classroom.students_may_run_their_own"),
                value=r.allow_training,
                key="class_allow",
                on_change=_allow,
                args=(r,),
                help=t("classroom.off_students_watch_your_training"),
            )
            c2.button(t("classroom.end_the_class"), key="class_end", on_click=r.end)
        right.image(
            qr_png(link),
            caption=t("classroom.scan_to_join", code=r.code),
            width=150,
            output_format="PNG",
        )
        st.fragment(run_every=TEACHER_PULSE_S)(gallery_ui)(r)


def _teacher_pulse(r) -> None:
    _sync(r)
    here, joined = r.here(), r.joined()
    st.caption(
        t("classroom.student_here_now_joined_in", here=here, v2="s" * (here != 1), joined=joined),
        help=t("classroom.a_student_counts_as_here", pulse_s=PULSE_S),
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
            st.warning(t("classroom.class_has_ended", code=r.code, ended=ended_text(r)))
            st.button(t("classroom.leave_the_class"), key="class_leave", on_click=_leave)
            return
        st.markdown(t("classroom.class_you_watch_the_teacher", code=r.code))
        st.fragment(run_every=PULSE_S)(_student_pulse)(r)
        with st.container(key="class-curves"):
            st.fragment(run_every=CURVES_S)(_student_curves)(r)


def _student_pulse(r) -> None:
    r.looked(me())
    if r.ended:
        st.rerun(scope="app")  # the whole page says so, and its choices go back
    if new_class_models(r):
        st.rerun(scope="app")  # the page's own run takes them up (choose.py)
    job = r.job
    if job is None:
        st.caption(t("classroom.the_teacher_has_not_started"))
    else:
        view = job.view()
        if view.state in ACTIVE:
            progress_ui(view)
        elif view.state in FINISHED:
            st.caption(t("classroom.the_teacher_s_training_has", v1=MODEL_KINDS[view.recipe.model]))
    if r.finetuned:
        st.success(finetune_text(*r.finetuned))
    if not r.allow_training:
        st.caption(t("classroom.in_this_class_the_teacher"))


def _student_curves(r) -> None:
    job = r.job
    if job is not None and not r.ended:
        curves_ui(job.view().events, own=False, one_chart=True)


def ended_text(r) -> str:
    if r.away_s is not None:
        return t("classroom.ended_teacher_gone", minutes=r.away_s / 60)
    return t("classroom.ended_by_teacher")


def finetune_text(kind: str, result) -> str:
    """A class fine-tune's before and after, as every page of the class says it."""
    f = result.extra["finetune"]
    before, after = f["before"], f["after"]
    name, mnist = MODEL_KINDS[kind], (before["mnist_test"], after["mnist_test"])
    text = t("classroom.finetuned", name=name, n=f["trained_on"], before=mnist[0], after=mnist[1])
    if after["taught"] is None:
        return text + t("classroom.finetuned_none_held_out")
    return text + t(
        "classroom.finetuned_held_out",
        n=f["held_out"],
        before=before["taught"],
        after=after["taught"],
    )


def _leave() -> None:
    st.session_state[state.CLASS_CODE] = None
    if QUERY in st.query_params:
        del st.query_params[QUERY]
