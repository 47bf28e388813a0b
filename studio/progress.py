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

KERAS_MNIST = Path.home() / ".keras" / "datasets" / "mnist.npz"  # where Keras caches its download


def waiting_text(view, cluster: tuple[int, float] | None = None) -> str:
    """Where a queued training stands; `cluster`: (trainings at once, CPUs) of a Ray cluster."""
    ahead = "yours is next" if view.place <= 1 else f"{view.place - 1} ahead of yours"
    left = f", about {view.others_left_s:.0f} s left" if view.others_left_s is not None else ""
    where = "Another training is running on this server"
    if cluster is not None:
        where = (
            f"All {cluster[0]} places for trainings on the cluster ({cluster[1]:.0f} CPUs) "
            "are taken"
        )
    return f"{where}{left}; {ahead} in line. Yours starts when its turn comes; Cancel to leave the line."


def progress_ui(view) -> None:
    events = view.events
    last = next((e for e in reversed(events) if e["kind"] in PROGRESS), None)
    final = events[-1] if events and events[-1]["kind"] == FINAL else None
    if final is not None:
        st.progress(
            final["done"] / max(1, final["total"]),
            text=f"Evaluating on the {final['total']:,} test digits... "
            f"{final['done']:,} / {final['total']:,}",
        )
    elif last is not None:
        where = f"step {last['step']:,} / {last['total_steps']:,}"
        if view.stopping:
            text = f"Stopping... {where}"
        elif view.paused and view.pause_asked:
            text = f"Paused at {where} · the server's training slot stays yours: Resume goes on"
        elif view.pause_asked:
            text = f"Pausing... {where}"
        elif view.paused:
            text = f"Resuming... {where}"
        else:
            left = seconds_left(last)
            text = f"{where} · {last['samples_per_s']:,.0f} samples/s · " + (
                "measuring the speed..." if left is None else f"about {left:.0f} s left"
            )
        st.progress(fraction_done(last), text=text)
    elif view.state == RUNNING:
        st.progress(0.0, text="Preparing (loading MNIST, building the network)...")


def estimate_text(recipe) -> str:
    """How long from Train to the end on screen a training by `recipe` should take on this
    server: start-up, training, the final test and the trainings ahead (estimate.py)."""
    speeds = state.speeds()
    last = speeds.get((recipe.model, recipe.name, recipe.batch_size))
    guess = estimate(recipe, last or speeds.get(recipe.model), ahead_seconds(speeds))
    if guess is None:
        return "No estimate yet: the first training of this kind here measures the speed."
    parts = (
        f"{guess.start_s:.0f} s to start, {guess.train_s:.0f} s of training, "
        f"{guess.final_s:.0f} s for the final test"
    )
    if guess.ahead_s:
        parts += f", after {guess.ahead_s:.0f} s for the trainings ahead"
    text = f"About {guess.total_s:.0f} s here ({parts})."
    if guess.train_s > state.MAX_TRAIN_S:
        text += (
            f" That is past this server's limit of {state.MAX_TRAIN_S:.0f} s per training: it "
            "would stop there, its model kept. The class recipe ends on time."
        )
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
        st.error(
            f"MNIST is not where {ENV_VAR} points on this server. Point {ENV_VAR} at an "
            "mnist.npz (Keras layout) or a folder of the four IDX files; drawing and "
            "predicting still work."
        )
    elif not src and not KERAS_MNIST.exists():
        st.caption("MNIST (11 MB) will be downloaded on the first training.")
