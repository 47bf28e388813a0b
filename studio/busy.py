"""What the server is doing, on every page: while another visitor's training runs, a line says
which network, how far it is and for how long (the page that trains sees its own progress)."""

from __future__ import annotations

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.events import PROGRESS, fraction_done, seconds_left
from studio import classlink, state

REFRESH_S = 1.0  # each page looks this often: a one-line fragment, a few ms of the server CPU


def busy_ui() -> None:
    """The line, in a fragment of its own that follows the server's trainings (not in a class:
    a student's page shows the teacher's training itself)."""
    if not classlink.studying():
        st.fragment(run_every=REFRESH_S)(_busy_line)()


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
        return f"The {name} is starting to train for another visitor."
    left = seconds_left(last)
    tail = "" if left is None else f", about {left:.0f} s left"
    return f"The {name} is training for another visitor: {fraction_done(last):.0%} done{tail}."


def _busy_line() -> None:
    running = others_running()
    if running:
        st.caption(" ".join(busy_text(job) for job in running), help=HELP)


HELP = (
    "One server trains for the whole class, one training at a time: press Train to queue up, and "
    "watch the running one's curves while you wait."
)
