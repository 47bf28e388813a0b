"""The running training, as the page watches it: its progress (one fragment, polled twice a
second, that also takes the end) and its curves and live panel (another, once every 1.5 s: on a
2-core server that also runs the browser, redrawing the charts twice a second took a fifth of
the CPU the training could have had; measured in benchmarks/class_demo.py's page part). Until
the first point is drawn, the curves are looked for twice a second too: the first point comes
within a second or two of Train, and a 1.5 s poll would add up to 1.5 s to it.
"""

from __future__ import annotations

import time

import streamlit as st

from mnist_demo.serving.jobs import FINISHED, WAITING
from studio import classview, state
from studio.busy import busy_line, busy_text, others_running
from studio.charts import charts_ui
from studio.i18n import t
from studio.live import live_panel_ui
from studio.outcome import finish
from studio.progress import progress_ui, waiting_text

STOP_WAIT_S = 0.5  # once Stop is pressed, each look waits this long for the end
STOPPING_MIN_S = 0.05  # "Stopping..." reaches the browser before the end replaces it
CURVES_SHOWN = "curves_shown"  # the job whose first curve point is on screen


def live_ui() -> None:
    """Progress, live charts and the end of a training; polled while the training runs."""
    job = st.session_state.get(state.JOB)
    if job is None:
        return
    view = job.view()
    if view.stopping and job.wait_end(STOP_WAIT_S):  # the end comes within a second: wait for it
        view = job.view()
    if view.state in FINISHED and stopping_seen(job):
        finish(view)  # before drawing anything: the page reruns with the end at once
    if st.session_state.get(state.SHOWN_WAITING) and view.state != WAITING:
        st.rerun(scope="app")  # the queued training started: Cancel becomes Stop
    if view.state == WAITING:
        st.info(waiting_text(view, state.cluster_size()))
        return
    progress_ui(view)
    busy_line()  # trainings of others beside this one (busy.py: not a fragment of its own now)


def live_curves_ui() -> None:
    """The running training's curves and live panel (its own fragment, see the docstring)."""
    job = st.session_state.get(state.JOB)
    if job is None:
        return
    view = job.view()
    if view.state != WAITING:
        drawn = curves_ui(view.events, frame=True)
        if drawn and st.session_state.get(CURVES_SHOWN) is not job:
            st.session_state[CURVES_SHOWN] = job  # drawn: from now on at the slower pace
            st.rerun(scope="app")  # the fragment's pace is set by a run of the whole page
        return
    running = others_running()  # while in line: the training that runs now, live
    if running:
        st.caption(t("watch.while_yours_waits", busy_text=busy_text(running[0])))
        curves_ui(running[0].view().events, own=False)


def stopping_seen(job) -> bool:
    """False while this job's "Stopping..." went out less than STOPPING_MIN_S ago: a run that
    ended within the press's own page run still shows that its Stop was taken."""
    shown = st.session_state.get(state.STOPPING_SHOWN)
    recent = shown is not None and time.monotonic() - shown.at < STOPPING_MIN_S
    return not (recent and shown.job is job)


def curves_ui(events: list[dict], own=True, one_chart=False, frame=False) -> bool:
    """The curves, and beside them the live predictions (with this visitor's drawing when the
    training is theirs: another's reads another's drawing). `one_chart`: the mistakes alone, as
    the class view and a class's students show them. False: no point to draw yet (`frame`: the
    empty axes drawn)."""
    one_chart = one_chart or classview.on()
    left, right = st.columns([3, 2] if one_chart else [5, 2], gap="medium")
    with left:
        drawn = charts_ui(events, one_chart, frame)
    with right:
        live_panel_ui(events, with_drawing=own)
    return drawn
