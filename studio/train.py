"""The training panel: network and recipe, Train and Stop, live progress, and how it ended.

The training runs in a background thread (mnist_demo.serving.jobs) or process; studio/watch.py shows it
while it runs, in two fragments, and reruns the whole page once, when it ends.
"""

from __future__ import annotations

import json
import time
from collections import namedtuple

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.errors import DataError
from mnist_demo.serving.jobs import (
    ACTIVE,
    WAITING,
    TrainingJob,
)
from mnist_demo.training.recipes import RECIPES, Recipe
from studio import classlink, classview, setup_link, state
from studio.form import recipe_text, recipe_ui
from studio.i18n import t
from studio.progress import data_status_ui, estimate_text
from studio.streamlit_internals import session_liveness
from studio.watch import CURVES_SHOWN, curves_ui, live_curves_ui, live_ui

REFRESH_S = 0.5  # the progress refreshes this often while a training runs
CURVES_REFRESH_S = 1.5  # ... and the curves and the live panel this often
STOPPING_REFRESH_S = 0.1  # ... and this often once Stop is pressed,
Shown = namedtuple("Shown", "job at")
RECIPE_LABELS = {
    "class": "train.class_sized_by_time_any",
    "fast": "train.fast_a_fixed_length",
    "seed": "train.seed_the_tutorial_s",
}
ANCHOR = "train-a-network"  # the skip link's target, the same in every language
SETTINGS = "train.settings_network_recipe_length_batch"


def training_ui() -> None:
    st.container(key="head-train").subheader(t("train.train_a_network"), anchor=ANCHOR)
    job = st.session_state.get(state.JOB)
    active = job is not None and job.state in ACTIVE
    # The class view folds the form: the screen is for the canvas and the curves.
    setup_link.read_once(tuple(RECIPE_LABELS))
    with st.expander(t(SETTINGS)) if classview.on() else st.container():
        kind, recipe_name = _network_and_recipe_ui(active)
        recipe = recipe_ui(kind, recipe_name, active)
        setup_link.write(recipe, RECIPES[(kind, recipe_name)])
        st.caption(recipe_text(recipe))
        setup_link.note_ui()
    data_status_ui()
    buttons_ui(recipe, job, active)
    message = st.session_state.get(state.MESSAGE)
    if message:
        getattr(st, message[0])(message[1])
    if job is not None:
        _watch_ui(job, active)
    elif st.session_state.get(state.LAST_EVENTS):
        _last_run_ui(st.session_state[state.LAST_EVENTS])


def _network_and_recipe_ui(active: bool) -> tuple[str, str]:
    c1, c2 = st.columns(2)
    kind = c1.radio(
        t("train.network"),
        list(MODEL_KINDS),
        format_func=MODEL_KINDS.get,
        horizontal=True,
        key=state.TRAIN_KIND,
        disabled=active,
    )
    recipe_name = c2.radio(
        t("train.recipe"),
        list(RECIPE_LABELS),
        format_func={name: t(key) for name, key in RECIPE_LABELS.items()}.get,
        horizontal=True,
        key=state.TRAIN_RECIPE,
        disabled=active,
    )
    return kind, recipe_name


def _watch_ui(job, active: bool) -> None:
    """The running training's fragments. Once Stop is pressed, the end is looked for more often:
    it comes within a second."""
    pressed = st.session_state.get(state.STOP_PRESSED) is job
    every = STOPPING_REFRESH_S if pressed or job.view().stopping else REFRESH_S
    live = active or pressed
    with st.container(key="progress"):  # the page's style keeps both from fading
        st.fragment(run_every=every if live else None)(live_ui)()
    curves_every = CURVES_REFRESH_S if st.session_state.get(CURVES_SHOWN) is job else every
    with st.container(key="curves"):
        st.fragment(run_every=curves_every if live else None)(live_curves_ui)()


def _last_run_ui(events: list[dict]) -> None:
    with st.container(key="curves"):
        curves_ui(events)  # the last training's curves stay in view
    st.download_button(
        t("train.download_this_run_s_curves"),
        json.dumps(events),
        file_name="mnist-studio-run.json",
        mime="application/json",
        key="download_curves",
        on_click="ignore",
    )


def buttons_ui(recipe: Recipe, job, active: bool) -> None:
    """Train, Pause or Resume, Stop (Cancel while queued; "Stopping..." once pressed), Step
    and Reset; before Train, how long it takes and whether another session holds the slot."""
    b1, b2, b3, b4 = st.columns([1, 1, 1, 2], vertical_alignment="center")
    b1.button(
        t("train.train"),
        type="primary",
        key=state.TRAIN,
        disabled=active or not classlink.may_train(),
        on_click=start_training,
        args=(recipe,),
        width="stretch",
    )
    view = job.view() if job is not None else None
    waiting = view is not None and view.state == WAITING
    # Pressed: "Stopping..." until the end is on screen, even when the run ended at once.
    pressed = job is not None and st.session_state.get(state.STOP_PRESSED) is job
    stopping = view is not None and (view.stopping or (pressed and not waiting))
    st.session_state[state.SHOWN_WAITING] = waiting  # live_ui reruns the page when that changes
    paused = view is not None and view.pause_asked  # the button follows what was asked
    b2.button(
        t("train.resume") if paused else t("train.pause"),
        key=state.PAUSE,
        on_click=pause_or_resume,
        disabled=not active or waiting or stopping,
        width="stretch",
    )
    _stop_ui(b3, job, active, waiting, stopping)
    if active:
        _step_and_reset_ui(b4, view, usable=not (waiting or stopping))
    else:
        _before_train_ui(b4, recipe)


def _stop_ui(col, job, active: bool, waiting: bool, stopping: bool) -> None:
    label = t("train.cancel") if waiting else t("train.stopping") if stopping else t("train.stop")
    if stopping and getattr(st.session_state.get(state.STOPPING_SHOWN), "job", None) is not job:
        st.session_state[state.STOPPING_SHOWN] = Shown(job, time.monotonic())
    col.button(
        label,
        key=state.STOP,
        disabled=not active or stopping,
        on_click=stop_training,
        width="stretch",
    )


def _step_and_reset_ui(col, view, usable: bool) -> None:
    """While it holds: Step (to the next evaluation, then hold again) and Reset (its first
    weights again, its curves cleared; paused if it was)."""
    s1, s2 = col.columns(2)
    s1.button(
        t("train.step"),
        key=state.STEP,
        on_click=_steer,
        args=("step",),
        disabled=not (usable and view.pause_asked),
        width="stretch",
        help=t("train.while_paused_train_to_the"),
    )
    s2.button(
        t("train.reset"),
        key=state.RESET,
        on_click=_steer,
        args=("reset",),
        disabled=not usable,
        width="stretch",
        help=t("train.back_to_this_run_s"),
    )


def _steer(command: str) -> None:
    job = st.session_state.get(state.JOB)
    if job is not None:
        job.step() if command == "step" else job.reset()


def _before_train_ui(col, recipe: Recipe) -> None:
    """Before Train: how long it should take, and a word when another session holds the slot."""
    col.caption(estimate_text(recipe))
    if not classlink.may_train():
        col.caption(t("train.in_this_class_the_teacher"))
    if state.training_slots().busy():
        where = (
            t("train.every_place_for_trainings_on")
            if state.cluster_size()
            else t("train.another_training_is_running_on")
        )
        st.info(t("train.right_now_press_train_to", where=where))


def start_training(recipe: Recipe, start=None) -> None:
    """A training by `recipe`, or the fine-tune `start` (finetune.FineTune), for this session."""

    def load():
        data, error = state.mnist_or_error()
        if error:
            state.mnist_or_error.clear()  # let the next press try again
            raise DataError(error)
        return data

    st.session_state[state.MESSAGE] = None
    if not classlink.may_train():  # the button is off: a press from before the class began
        return
    job = TrainingJob(
        recipe,
        load,
        state.training_slots(),
        owner_alive=session_liveness(),
        max_seconds=state.MAX_TRAIN_S,
        start=start,
    )
    st.session_state[state.JOB] = job.start()


def stop_training() -> None:
    job = st.session_state.get(state.JOB)
    if job is not None:
        st.session_state[state.STOP_PRESSED] = job
        job.stop()


def pause_or_resume() -> None:
    job = st.session_state.get(state.JOB)
    if job is not None:
        job.resume() if job.view().paused else job.pause()
