"""Where a training is: its step and speed, paused or stopping, its final evaluation, its place
in line; and, before Train, how long it will take. Never a silent wait: each state has its own
words."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mnist_demo import settings
from mnist_demo.data import ENV_VAR
from mnist_demo.events import FINAL, PROGRESS, fraction_done, seconds_left
from mnist_demo.serving.jobs import RUNNING
from mnist_demo.training.estimate import estimate
from studio import state
from studio.i18n import t

KERAS_MNIST = Path.home() / ".keras" / "datasets" / "mnist.npz"  # where Keras caches its download


def waiting_text(view, cluster: tuple[int, float] | None = None) -> str:
    """Where a queued training stands; `cluster`: (trainings at once, CPUs) of a Ray cluster."""
    ahead = (
        t("progress.yours_is_next")
        if view.place <= 1
        else t("progress.ahead_of_yours", v0=view.place - 1)
    )
    left = (
        t("progress.about_s_left", others_left_s=view.others_left_s)
        if view.others_left_s is not None
        else ""
    )
    where = t("progress.another_training_is_running_on")
    if cluster is not None:
        where = t("progress.all_places_for_trainings_on", v1=cluster[0], v3=cluster[1])
    return t("progress.in_line_yours_starts_when", where=where, left=left, ahead=ahead)


def progress_ui(view) -> None:
    events = view.events
    last = next((e for e in reversed(events) if e["kind"] in PROGRESS), None)
    final = events[-1] if events and events[-1]["kind"] == FINAL else None
    if final is not None:
        st.progress(
            final["done"] / max(1, final["total"]),
            text=t(
                "progress.evaluating_on_the_test_digits", total=final["total"], done=final["done"]
            ),
        )
    elif last is not None:
        where = t("progress.step", step=last["step"], total_steps=last["total_steps"])
        if view.stopping:
            text = t("progress.stopping", where=where)
        elif view.paused and view.pause_asked:
            text = t("progress.paused_at_the_server_s", where=where)
        elif view.pause_asked:
            text = t("progress.pausing", where=where)
        elif view.paused:
            text = t("progress.resuming", where=where)
        else:
            left = seconds_left(last)
            text = t("progress.samples_s", where=where, samples_per_s=last["samples_per_s"]) + (
                t("progress.measuring_the_speed")
                if left is None
                else t("progress.about_s_left_2", left=left)
            )
        st.progress(fraction_done(last), text=text)
    elif view.state == RUNNING:
        st.progress(0.0, text=t("progress.preparing_loading_mnist_building_the"))


def estimate_text(recipe) -> str:
    """How long from Train to the end on screen a training by `recipe` should take on this
    server: start-up, training, the final test and the trainings ahead (estimate.py)."""
    speeds = state.speeds()
    last = speeds.get((recipe.model, recipe.name, recipe.batch_size))
    guess = estimate(recipe, last or speeds.get(recipe.model), ahead_seconds(speeds))
    if guess is None:
        return t("progress.no_estimate_yet_the_first")
    parts = t(
        "progress.s_to_start_s_of",
        start_s=guess.start_s,
        train_s=guess.train_s,
        final_s=guess.final_s,
    )
    if guess.ahead_s:
        parts += t("progress.after_s_for_the_trainings", ahead_s=guess.ahead_s)
    text = t("progress.about_s_here", total_s=guess.total_s, parts=parts)
    if guess.train_s > state.MAX_TRAIN_S:
        text += t("progress.that_is_past_this_server", max_train_s=state.MAX_TRAIN_S)
    return text


def ahead_seconds(speeds: dict) -> float:
    """What the trainings running and waiting on this server have left before a new one starts
    (with one place: the first to end frees it)."""
    slots = state.training_slots()
    running = [j.seconds_left() for j in slots.running()]
    ahead = min((s for s in running if s is not None), default=0.0) if running else 0.0
    for job in slots.waiting():
        r = job.recipe
        guess = estimate(r, speeds.get((r.model, r.name, r.batch_size)) or speeds.get(r.model))
        ahead += guess.total_s if guess else 0.0
    return ahead


def data_status_ui() -> None:
    src = settings.MNIST_DATA.raw()
    if src and not Path(src).exists():
        st.error(t("progress.mnist_is_not_where_points", env_var=ENV_VAR))
    elif not src and not KERAS_MNIST.exists():
        st.caption(t("progress.mnist_11_mb_will_be"))
