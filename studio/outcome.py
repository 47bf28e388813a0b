"""How a training ended, once: its model kept for this session (answering unless it is no
good), its curves kept in view, its speed remembered for the next estimate."""

from __future__ import annotations

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.memory import give_back_memory_soon
from mnist_demo.serving.jobs import CANCELLED, FAILED, STOPPED
from mnist_demo.serving.steering import TIME_LIMIT
from mnist_demo.training.result import CHANCE, NOT_LEARNT
from studio import state
from studio.cards import no_paths, plain
from studio.choose import answering_accuracy, set_aside
from studio.i18n import t
from studio.runs import add_run

MNIST_TEST = 10_000  # digits in MNIST's test set
STOP_REASONS = {
    TIME_LIMIT: "outcome.at_this_server_s_limit"
}  # why a run stopped, said after its kind


def stop_reason(view) -> str:
    why = STOP_REASONS.get(view.stop_reason)
    return t(why, max_train_s=state.MAX_TRAIN_S) if why else ""


def finish(view) -> None:
    """Once, when a training ends: keep its model for this session and refresh the page."""
    st.session_state.pop(state.JOB, None)
    if view.state == FAILED:
        st.session_state[state.MESSAGE] = ("error", plain(no_paths(view.error)))
    elif view.state == CANCELLED:
        st.session_state[state.MESSAGE] = (
            "info",
            t("outcome.training_cancelled_before_it_started"),
        )
    elif view.result is not None:
        keep(view)
    st.rerun(scope="app")


def finetuned(res) -> str:
    """A fine-tune's before and after, in a sentence or two."""
    f = res.extra["finetune"]
    before, after = f["before"], f["after"]
    text = t(
        "outcome.fine_tuned_on_of_your",
        v0=MODEL_KINDS[res.recipe.model],
        trained_on=f["trained_on"],
        steps=res.steps,
        seconds=res.seconds,
        mnist_test=before["mnist_test"],
        mnist_test2=after["mnist_test"],
    )
    if after["taught"] is None:
        return text + (t("outcome.none_of_your_digits_was"))
    return text + (
        t(
            "outcome.your_held_out_digits_never",
            held_out=f["held_out"],
            taught=before["taught"],
            taught2=after["taught"],
        )
    )


def done_text(view, res, name: str) -> str:
    """How a training ended: its kind, steps, time, seed and test accuracy (or its fine-tune)."""
    word = t("outcome.stopped") if view.state == STOPPED else t("outcome.done")
    if "finetune" in res.extra:
        return f"{word}{stop_reason(view)}: {finetuned(res)}"
    tested = "."
    if res.stopped and res.test_images < MNIST_TEST:
        tested = t("outcome.on_the_first_test_digits", test_images=res.test_images)
    return t(
        "outcome.trained_steps_in_s_seed",
        word=word,
        get=stop_reason(view),
        name=name,
        steps=res.steps,
        seconds=res.seconds,
        seed=res.recipe.seed,
        test_accuracy=res.test_accuracy,
        tested=tested,
    )


def verdict_text(res, answering: float | None) -> str | None:
    """Why the new model does not take over (TrainResult.verdict), in the page's language."""
    if res.verdict(answering) is None:
        return None
    if res.test_accuracy < NOT_LEARNT:
        return t("outcome.not_learnt", accuracy=res.test_accuracy, chance=CHANCE)
    return t("outcome.far_below", accuracy=res.test_accuracy, answering=answering)


def keep(view) -> None:
    """The new model joins this session's choices; it answers unless it is no good."""
    res, saved = view.result, state.saved_models()
    kind, name = res.recipe.model, MODEL_KINDS[res.recipe.model]
    warning = verdict_text(res, answering_accuracy(kind, saved))
    st.session_state[state.TRAINED][kind] = res
    st.session_state[state.PREDICTORS].pop(kind, None)  # the old model's, rebuilt when chosen
    # A Keras model is all reference cycles: the one replaced here is freed only by a full
    # garbage collection, which Python runs rarely with TensorFlow's objects around (the server
    # grew by a model per training). It takes 0.3-1.5 s: done after the page has shown the end.
    give_back_memory_soon()
    st.session_state[state.LAST_EVENTS] = view.events
    state.remember_speed(res.recipe, view.events, view.running_since)
    add_run(res, view.events)
    done = done_text(view, res, name)
    if warning:
        set_aside(kind, saved)
        st.session_state[state.MESSAGE] = (
            "warning",
            t("outcome.but_it_does_not_answer", done=done, warning=warning, name=name),
        )
    else:
        st.session_state[state.SELECT_NEW] = kind  # applied before the selector is drawn again
        st.session_state[state.MESSAGE] = (
            "success",
            t("outcome.it_now_answers_your_drawings", done=done),
        )
