"""Which model answers for each kind: a shipped one, one saved earlier, or this session's."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.storage.store import weights_root
from studio import classlink, state
from studio.cards import plain


@dataclass
class Choice:
    kind: str
    label: str  # shown with the prediction: where the model comes from
    predictor: object | None  # an inference.Predictor, or None when there is no usable model
    error: str | None = None  # why there is none
    about: str = ""  # how good it is and how it was trained, for the prediction's tooltip
    shipped: bool = False  # the server's own network of its kind (weights/KIND.keras)


def about(meta: dict) -> str:
    """One line on a model's record: its test accuracy, when and how it was trained."""
    parts = []
    if isinstance(meta.get("test_accuracy"), float | int):
        parts.append(
            f"test accuracy {meta['test_accuracy']:.2%} on {meta.get('test_images', 10_000):,} "
            "digits it never trained on"
        )
    how = [
        f"the {meta['recipe']} recipe" if meta.get("recipe") else None,
        f"{meta['steps']:,} steps" if isinstance(meta.get("steps"), int) else None,
        f"{meta['train_seconds']:.0f} s"
        if isinstance(meta.get("train_seconds"), float | int)
        else None,
    ]
    if any(how):
        parts.append("trained with " + ", ".join(h for h in how if h))
    if isinstance(meta.get("saved_at"), str):
        parts.append(f"saved {meta['saved_at'][:10]}")
    return "; ".join(parts) or "no record of how it was trained"


def model_choices(kind: str, saved) -> dict[str, str]:
    """{value: label} for the per-kind selector: this session's model, then saved models."""
    options = {}
    trained = st.session_state[state.TRAINED]
    if kind in (ours := classlink.class_models()):
        options[classlink.CLASS_CHOICE] = f"The class's model ({ours[kind].test_accuracy:.2%})"
    if kind in trained:
        options[state.SESSION] = f"Trained in this session ({trained[kind].test_accuracy:.2%})"
    for m in saved:
        if m.error is None and m.kind == kind:
            acc = f"{m.accuracy:.2%}" if m.accuracy is not None else "accuracy unknown"
            date = str(m.meta.get("saved_at", ""))[:10]
            options[m.name] = f"{m.name} ({acc}, {date})"
    return options


def choose_model(kind: str, saved) -> Choice:
    """The selector for one kind, and the model it selects."""
    options = model_choices(kind, saved)
    name = MODEL_KINDS[kind]
    if not options:
        return Choice(kind, "no model", None, f"No {name} model yet: train one below.")
    key = state.CHOICE.format(kind)
    if st.session_state.get(state.SELECT_NEW) == kind and state.SESSION in options:
        st.session_state[key] = state.SESSION
        st.session_state[state.SELECT_NEW] = None
    if st.session_state.get(key) not in options:
        st.session_state[key] = next(iter(options))
    value = st.selectbox(f"{name} model", list(options), format_func=options.get, key=key)
    if value == classlink.CLASS_CHOICE:
        text = classlink.about_class_model(kind)
        return Choice(kind, "the class's model", classlink.class_predictor(kind), about=text)
    if value == state.SESSION:
        result = st.session_state[state.TRAINED][kind]
        record = result.metadata("")
        text = f"Trained in this session: {about(record)}."
        return Choice(kind, "trained in this session", session_predictor(result), about=text)
    model = next(m for m in saved if m.name == value)
    label = f"saved: {model.name}"
    try:
        stat = model.path.stat()
    except OSError:
        return Choice(kind, label, None, plain(f"{model.name} is unavailable: it was deleted"))
    predictor, error = state.load_predictor(str(model.path), stat.st_mtime, stat.st_size)
    error = error and plain(f"{model.name} is unavailable: {error}")
    shipped = model.name == kind and model.path.parent.resolve() == weights_root().resolve()
    text = f"{model.name}: {about(model.meta)}."
    return Choice(kind, label, predictor, error, about=text, shipped=shipped)


def answering_accuracy(kind: str, saved) -> float | None:
    """The test accuracy of the model answering for `kind` now, when it is known."""
    value = st.session_state.get(state.CHOICE.format(kind))
    if value == state.SESSION and kind in st.session_state[state.TRAINED]:
        return st.session_state[state.TRAINED][kind].test_accuracy
    return next((m.accuracy for m in saved if m.name == value and m.error is None), None)


def set_aside(kind: str, saved) -> None:
    """Let a saved model answer for `kind` rather than this session's (which stays a choice)."""
    usable = [m.name for m in saved if m.error is None and m.kind == kind]
    if st.session_state.get(state.CHOICE.format(kind)) == state.SESSION and usable:
        st.session_state[state.CHOICE.format(kind)] = usable[0]


def session_predictor(result):
    """One compiled predictor per kind of session model, rebuilt only when that model changes
    (keyed by kind: with a CNN and an MLP trained, a single slot would rebuild on every stroke)."""
    cache = st.session_state[state.PREDICTORS]
    kind = result.recipe.model
    if kind not in cache or cache[kind][0] is not result:
        from mnist_demo.nets.inference import Predictor  # TensorFlow: see state.load_predictor

        cache[kind] = (result, Predictor(result.model, xla=False))  # replaced at every training
    return cache[kind][1]


def first_answering(saved) -> tuple[str, ...]:
    """The paths of the models a new visitor's page answers with, one per kind."""
    firsts = {}
    for m in saved:
        if m.error is None and m.kind in MODEL_KINDS:
            firsts.setdefault(m.kind, str(m.path))
    return tuple(firsts.values())


def unusable_ui(saved) -> None:
    """Saved models that cannot be used, each with the reason, out of the way."""
    unusable = [m for m in saved if m.error]
    if unusable:
        with st.expander(f"{len(unusable)} saved model(s) unavailable"):
            for m in unusable:
                named = m.error.startswith(m.path.name)  # most reasons start with the name
                st.warning(plain(m.error if named else f"{m.path.name}: {m.error}"))
