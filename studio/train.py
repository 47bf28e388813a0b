"""The training panel: network and recipe, Train and Stop, live progress, and how it ended.

The training runs in a background thread (mnist_demo.jobs); this panel polls it twice a second
in a fragment and reruns the whole page once, when it ends.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.data import ENV_VAR
from mnist_demo.errors import DataError
from mnist_demo.events import PROGRESS, fraction_done, seconds_left
from mnist_demo.jobs import (
    ACTIVE,
    CANCELLED,
    FAILED,
    FINISHED,
    RUNNING,
    STOPPED,
    WAITING,
    TrainingJob,
)
from mnist_demo.recipes import RECIPES, Recipe
from studio import state
from studio.charts import charts_ui
from studio.streamlit_internals import session_liveness

REFRESH_S = 0.5  # the live view refreshes this often while a training runs
RECIPE_LABELS = {"fast": "fast (tuned for this CPU)", "seed": "seed (the tutorial's)"}
KERAS_MNIST = Path.home() / ".keras" / "datasets" / "mnist.npz"  # where Keras caches its download


def training_ui() -> None:
    st.subheader("Train a network")
    job = st.session_state.get(state.JOB)
    active = job is not None and job.state in ACTIVE
    c1, c2 = st.columns(2)
    kind = c1.radio("Network", list(MODEL_KINDS), format_func=MODEL_KINDS.get, horizontal=True,
                    key=state.TRAIN_KIND, disabled=active)  # fmt: skip
    recipe_name = c2.radio("Recipe", list(RECIPE_LABELS), format_func=RECIPE_LABELS.get,
                           horizontal=True, key=state.TRAIN_RECIPE, disabled=active)  # fmt: skip
    recipe = recipe_ui(kind, recipe_name, active)
    st.caption(recipe.describe())
    data_status_ui()
    buttons_ui(recipe, job, active)
    message = st.session_state.get(state.MESSAGE)
    if message:
        getattr(st, message[0])(message[1])
    if job is not None:
        st.fragment(run_every=REFRESH_S if active else None)(live_ui)()
    elif st.session_state.get(state.LAST_EVENTS):
        charts_ui(st.session_state[state.LAST_EVENTS])  # the last training's curves stay in view


def recipe_ui(kind: str, recipe_name: str, disabled: bool) -> Recipe:
    """The chosen recipe, with the user's steps or epochs, batch size and learning rate."""
    base = RECIPES[(kind, recipe_name)]
    key = state.SETTING.format
    c1, c2, c3 = st.columns(3)
    if base.steps is not None:
        n = c1.number_input("Steps", 10, 100_000, base.steps, 100, key=key("steps", kind, recipe_name),
                            disabled=disabled)  # fmt: skip
        changes = {"steps": int(n)}
    else:
        n = c1.number_input("Epochs", 1, 50, base.epochs, 1, key=key("epochs", kind, recipe_name),
                            disabled=disabled)  # fmt: skip
        changes = {"epochs": int(n)}
    batch = c2.number_input("Batch size", 8, 2048, base.batch_size, 8, key=key("batch", kind, recipe_name),
                            disabled=disabled)  # fmt: skip
    rate = c3.number_input("Learning rate", 1e-5, 1e-1, base.learning_rate, format="%.0e",
                           key=key("lr", kind, recipe_name), disabled=disabled)  # fmt: skip
    return base.with_(**changes, batch_size=int(batch), learning_rate=float(rate))


def data_status_ui() -> None:
    src = os.environ.get(ENV_VAR)
    if src and not Path(src).exists():
        st.error(
            f"MNIST is not at {ENV_VAR}={src}. Point {ENV_VAR} at an mnist.npz (Keras "
            "layout) or a folder of the four IDX files; drawing and predicting still work."
        )
    elif not src and not KERAS_MNIST.exists():
        st.caption("MNIST (11 MB) will be downloaded on the first training.")


def buttons_ui(recipe: Recipe, job, active: bool) -> None:
    """Train and Stop (Cancel while queued), and a word when another session holds the slot."""
    b1, b2, _ = st.columns([1, 1, 3])
    b1.button("Train", type="primary", key=state.TRAIN, disabled=active, on_click=start_training,
              args=(recipe,), width="stretch")  # fmt: skip
    waiting = job is not None and job.state == WAITING
    st.session_state[state.SHOWN_WAITING] = waiting  # live_ui reruns the page when that changes
    b2.button("Cancel" if waiting else "Stop", key=state.STOP, disabled=not active,
              on_click=stop_training, width="stretch")  # fmt: skip
    if not active and state.training_slots().busy():
        st.info(
            "Another training is running on this server right now. Press Train to queue up: "
            "yours starts when it ends."
        )


def start_training(recipe: Recipe) -> None:
    def load():
        data, error = state.mnist_or_error()
        if error:
            state.mnist_or_error.clear()  # let the next press try again
            raise DataError(error)
        return data

    st.session_state[state.MESSAGE] = None
    job = TrainingJob(recipe, load, state.training_slots(), owner_alive=session_liveness())
    st.session_state[state.JOB] = job.start()


def stop_training() -> None:
    job = st.session_state.get(state.JOB)
    if job is not None:
        job.stop()


def live_ui() -> None:
    """Progress, live charts and the end of a training; polled while the training runs."""
    job = st.session_state.get(state.JOB)
    if job is None:
        return
    view = job.view()
    if st.session_state.get(state.SHOWN_WAITING) and view.state != WAITING:
        st.rerun(scope="app")  # the queued training started: Cancel becomes Stop
    if view.state == WAITING:
        st.info(
            f"Another training is running on this server ({view.queued_behind} ahead of you). "
            "Yours starts as soon as it ends; Cancel to leave the queue."
        )
        return
    progress_ui(view)
    charts_ui(view.events)
    if view.state in FINISHED:
        finish(view)


def progress_ui(view) -> None:
    last = next((e for e in reversed(view.events) if e["kind"] in PROGRESS), None)
    if last is not None:
        st.progress(
            fraction_done(last),
            text=f"step {last['step']:,} / {last['total_steps']:,} · "
            f"{last['samples_per_s']:,.0f} samples/s · about {seconds_left(last):.0f} s left",
        )
    elif view.state == RUNNING:
        st.progress(0.0, text="Preparing (loading MNIST, building the network)...")


def finish(view) -> None:
    """Once, when a training ends: keep its model for this session and refresh the page."""
    st.session_state.pop(state.JOB, None)
    if view.state == FAILED:
        st.session_state[state.MESSAGE] = ("error", view.error)
    elif view.state == CANCELLED:
        st.session_state[state.MESSAGE] = ("info", "Training cancelled before it started.")
    elif view.result is not None:
        res = view.result
        kind = res.recipe.model
        st.session_state[state.TRAINED][kind] = res
        st.session_state[state.SELECT_NEW] = kind  # applied before the selector is drawn again
        st.session_state[state.LAST_EVENTS] = view.events
        word = "Stopped" if view.state == STOPPED else "Done"
        st.session_state[state.MESSAGE] = (
            "success",
            f"{word}: {MODEL_KINDS[kind]} trained {res.steps:,} steps in {res.seconds:.1f} s, "
            f"test accuracy {res.test_accuracy:.2%}. It now answers your drawings.",
        )
    st.rerun(scope="app")
