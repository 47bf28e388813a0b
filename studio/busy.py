"""What the server is doing, on every page: while another visitor's training runs, a line says
which network, how far it is and for how long (the page that trains sees its own progress)."""

from __future__ import annotations

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.events import PROGRESS, fraction_done, seconds_left
from mnist_demo.serving.jobs import ACTIVE
from studio import classlink, state
from studio.i18n import t

# Each page looks this often: a look costs its browser 50-80 ms of CPU, whatever it draws.
REFRESH_S = 2.0


def busy_ui() -> None:
    """The line, in a fragment of its own that follows the server's trainings (not in a class:
    a student's page shows the teacher's training itself). Not while this page's own training
    runs: its progress, polled anyway, says it then (watch.py). Each look of a fragment costs
    the browser 50-80 ms of CPU on this page, whatever it draws, and on a laptop that runs the
    server too the training has the same two cores (benchmarks/page_cpu.py)."""
    if classlink.studying() or own_training_active():
        return
    st.fragment(run_every=REFRESH_S)(busy_line)()


def own_training_active() -> bool:
    """Whether this page's training is in line or running (its end reruns the whole page)."""
    job = st.session_state.get(state.JOB)
    return job is not None and job.state in ACTIVE  # not view(): it copies every event


def others_running() -> list:
    """The trainings running now for other pages than this one."""
    mine = st.session_state.get(state.JOB)
    return [job for job in state.training_slots().running() if job is not mine]


def busy_text(job) -> str:
    """One training of another visitor's, as a class reads it: "The MLP is training for another
    visitor: 40% done, about 12 s left"."""
    events = job.view().events
    last = next((e for e in reversed(events) if e["kind"] in PROGRESS), None)
    name = MODEL_KINDS[job.recipe.model]
    if last is None:
        return t("busy.the_is_starting_to_train", name=name)
    left = seconds_left(last)
    tail = "" if left is None else t("busy.about_s_left", left=left)
    return t(
        "busy.the_is_training_for_another", name=name, fraction_done=fraction_done(last), tail=tail
    )


def busy_line() -> None:
    running = others_running()
    if running:
        st.caption(" ".join(busy_text(job) for job in running), help=t(HELP))


HELP = "busy.one_server_trains_for_the"
