"""How a training ended, once: its model kept for this session (answering unless it is no
good), its curves kept in view, its speed remembered for the next estimate."""

from __future__ import annotations

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.memory import give_back_memory_soon
from mnist_demo.serving.jobs import CANCELLED, FAILED, STOPPED
from mnist_demo.serving.steering import TIME_LIMIT
from studio import state
from studio.cards import no_paths, plain
from studio.choose import answering_accuracy, set_aside
from studio.runs import add_run

MNIST_TEST = 10_000  # digits in MNIST's test set
STOP_REASONS = {TIME_LIMIT: f" at this server's limit of {state.MAX_TRAIN_S:.0f} s per training"}


def finish(view) -> None:
    """Once, when a training ends: keep its model for this session and refresh the page."""
    st.session_state.pop(state.JOB, None)
    if view.state == FAILED:
        st.session_state[state.MESSAGE] = ("error", plain(no_paths(view.error)))
    elif view.state == CANCELLED:
        st.session_state[state.MESSAGE] = ("info", "Training cancelled before it started.")
    elif view.result is not None:
        keep(view)
    st.rerun(scope="app")


def finetuned(res) -> str:
    """A fine-tune's before and after, in a sentence or two."""
    f = res.extra["finetune"]
    before, after = f["before"], f["after"]
    text = (
        f"{MODEL_KINDS[res.recipe.model]} fine-tuned on {f['trained_on']} of your digits, "
        f"{res.steps:,} steps in {res.seconds:.1f} s. MNIST test accuracy "
        f"{before['mnist_test']:.2%} before → {after['mnist_test']:.2%} after."
    )
    if after["taught"] is None:
        return text + (
            " None of your digits was held out to measure it: keep two or more of a digit for that."
        )
    return text + (
        f" Your {f['held_out']} held-out digits (never trained on): "
        f"{before['taught']:.0%} right before → {after['taught']:.0%} after."
    )


def keep(view) -> None:
    """The new model joins this session's choices; it answers unless it is no good."""
    res, saved = view.result, state.saved_models()
    kind, name = res.recipe.model, MODEL_KINDS[res.recipe.model]
    warning = res.verdict(answering_accuracy(kind, saved))
    st.session_state[state.TRAINED][kind] = res
    st.session_state[state.PREDICTORS].pop(kind, None)  # the old model's, rebuilt when chosen
    # A Keras model is all reference cycles: the one replaced here is freed only by a full
    # garbage collection, which Python runs rarely with TensorFlow's objects around (the server
    # grew by a model per training). It takes 0.3-1.5 s: done after the page has shown the end.
    give_back_memory_soon()
    st.session_state[state.LAST_EVENTS] = view.events
    state.remember_speed(res.recipe, view.events, view.running_since)
    add_run(res, view.events)
    word = "Stopped" if view.state == STOPPED else "Done"
    tested = "."
    if res.stopped and res.test_images < MNIST_TEST:
        tested = (
            f" on the first {res.test_images:,} test digits (a stopped run is tested on those, "
            "to end at once)."
        )
    done = (
        f"{word}{STOP_REASONS.get(view.stop_reason, '')}: {name} trained {res.steps:,} steps "
        f"in {res.seconds:.1f} s (seed {res.recipe.seed}), test accuracy "
        f"{res.test_accuracy:.2%}{tested}"
    )
    if "finetune" in res.extra:
        done = f"{word}{STOP_REASONS.get(view.stop_reason, '')}: {finetuned(res)}"
    if warning:
        set_aside(kind, saved)
        st.session_state[state.MESSAGE] = (
            "warning",
            f"{done} But {warning}. It does not answer your drawings unless you choose "
            f"“Trained in this session” as the {name} model.",
        )
    else:
        st.session_state[state.SELECT_NEW] = kind  # applied before the selector is drawn again
        st.session_state[state.MESSAGE] = ("success", f"{done} It now answers your drawings.")
