"""Which model answers for each kind: a shipped one, one saved earlier, or this session's."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.storage.store import weights_root
from studio import classlink, state
from studio.cards import plain
from studio.i18n import date_text, t


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
            t(
                "choose.test_accuracy_on_digits_it",
                test_accuracy=meta["test_accuracy"],
                get=meta.get("test_images", 10000),
            )
        )
    how = [
        t("choose.the_recipe", recipe=meta["recipe"]) if meta.get("recipe") else None,
        t("choose.steps", steps=meta["steps"]) if isinstance(meta.get("steps"), int) else None,
        f"{meta['train_seconds']:.0f} s"
        if isinstance(meta.get("train_seconds"), float | int)
        else None,
    ]
    if any(how):
        parts.append(t("choose.trained_with") + ", ".join(h for h in how if h))
    if isinstance(meta.get("saved_at"), str):
        parts.append(t("choose.saved_2", v1=meta["saved_at"][:10]))
    return "; ".join(parts) or t("choose.no_record_of_how_it")


def model_choices(kind: str, saved) -> dict[str, str]:
    """{value: label} for the per-kind selector: this session's model, then saved models."""
    options = {}
    trained = st.session_state[state.TRAINED]
    if kind in (ours := classlink.class_models()):
        options[classlink.CLASS_CHOICE] = t(
            "choose.the_class_s_model", test_accuracy=ours[kind].test_accuracy
        )
    if kind in trained:
        options[state.SESSION] = t(
            "choose.trained_in_this_session", test_accuracy=trained[kind].test_accuracy
        )
    for m in saved:
        if m.error is None and m.kind == kind:
            acc = (
                t("choose.accuracy", accuracy=m.accuracy)
                if m.accuracy is not None
                else t("choose.accuracy_unknown")
            )
            date = date_text(m.meta.get("saved_at", ""))
            options[m.name] = t("choose.saved_model", name=m.name, acc=acc, date=date)
    return options


def choose_model(kind: str, saved) -> Choice:
    """The selector for one kind, and the model it selects."""
    options = model_choices(kind, saved)
    name = MODEL_KINDS[kind]
    if not options:
        return Choice(
            kind, t("choose.no_model"), None, t("choose.no_model_yet_train_one", name=name)
        )
    key = state.CHOICE.format(kind)
    if st.session_state.get(state.SELECT_NEW) == kind and state.SESSION in options:
        st.session_state[key] = state.SESSION
        st.session_state[state.SELECT_NEW] = None
    if st.session_state.get(key) not in options:
        st.session_state[key] = next(iter(options))
    value = st.selectbox(
        t("choose.model", name=name), list(options), format_func=options.get, key=key
    )
    if value == classlink.CLASS_CHOICE:
        text = classlink.about_class_model(kind)
        return Choice(
            kind, t("choose.the_class_s_model_2"), classlink.class_predictor(kind), about=text
        )
    if value == state.SESSION:
        result = st.session_state[state.TRAINED][kind]
        record = result.metadata("")
        text = t("choose.trained_in_this_session_2", about=about(record))
        return Choice(
            kind, t("choose.trained_in_this_session_3"), session_predictor(result), about=text
        )
    return saved_choice(kind, next(m for m in saved if m.name == value))


def saved_choice(kind: str, model) -> Choice:
    """A saved (or shipped) model as the answer for `kind`, or why it cannot be."""
    label = t("choose.saved", name=model.name)
    try:
        stat = model.path.stat()
    except OSError:
        return Choice(
            kind, label, None, plain(t("choose.is_unavailable_it_was_deleted", name=model.name))
        )
    predictor, error = state.load_predictor(str(model.path), stat.st_mtime, stat.st_size)
    error = error and plain(t("choose.is_unavailable", name=model.name, error=error))
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
        with st.expander(t("choose.saved_model_s_unavailable", len=len(unusable))):
            for m in unusable:
                named = m.error.startswith(m.path.name)  # most reasons start with the name
                st.warning(plain(m.error if named else f"{m.path.name}: {m.error}"))
