"""MNIST Studio: draw a digit, watch the networks read it, train them live.

Run with `streamlit run app.py`. The only file that imports Streamlit; everything it shows comes
from the mnist_demo library.
"""

from __future__ import annotations

import base64
import io
import os
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from mnist_demo.errors import DataError, DrawingError, MnistDemoError
from mnist_demo.recipes import RECIPES, Recipe

CANVAS_SIZE = 280
KINDS = {"cnn": "CNN", "mlp": "MLP"}
SESSION = "this session"  # the model-choice value for the model trained in this session
MAX_TRAININGS = int(os.environ.get("MNIST_STUDIO_MAX_TRAININGS", "1"))  # at once, server-wide
REFRESH_S = 0.5  # live charts refresh this often while training runs

# Session-state keys, set up in one place.
K_JOB = "job"  # the TrainingJob of this session, if any
K_TRAINED = "trained"  # {kind: TrainResult} models trained in this session
K_CHOICE = "choice_{}"  # per kind: SESSION or a saved model's name
K_DRAWING = "drawing"  # the last canvas image, for reruns that do not come from the canvas
K_MESSAGE = "message"  # (level, text) shown once in the training panel
K_SELECT_NEW = "select_new"  # a kind whose new session model should become the choice
K_LAST_EVENTS = "last_events"  # the metric events of the last finished training
K_SHOWN_WAITING = "shown_waiting"  # the page last showed this session's training as queued
K_CANVAS = "canvas"
K_STROKE = "stroke"


def keep_keras_state() -> None:
    """Streamlit calls keras.backend.clear_session() after every script run. That clears
    TensorFlow's kernel cache under a training running in another thread (measured: 500 instead
    of 6,000 samples/s while the page polls, and now and then a dtype error mid-trace). This app
    holds its models itself and needs no such clean-up."""
    try:
        from streamlit.runtime.scriptrunner import script_runner

        script_runner._clean_problem_modules = lambda: None
    except (ImportError, AttributeError):  # a Streamlit without the hook has nothing to undo
        pass


keep_keras_state()


# ---------------------------------------------------------------- shared, read-only resources


@st.cache_resource(show_spinner=False)
def training_slots():
    from mnist_demo.jobs import TrainingSlots

    return TrainingSlots(MAX_TRAININGS)


@st.cache_resource(show_spinner="Loading MNIST...")
def mnist_or_error():
    """(Mnist, None) or (None, message): a failure is cached too, so that pages do not retry a
    download on every rerun; the Retry button clears it."""
    from mnist_demo.data import load_mnist

    try:
        return load_mnist(), None
    except DataError as e:
        return None, str(e)


@st.cache_resource(show_spinner=False, max_entries=16)
def load_predictor(path: str, mtime: float, size: int):
    """A saved model, loaded once per file version and shared by every session (read-only)."""
    from mnist_demo.predictor import Predictor
    from mnist_demo.store import load_model

    return Predictor(load_model(path))


@st.cache_resource(show_spinner=False)
def keep_warm():
    """One thread per server that keeps the models people are drawing for hot (see warm.py)."""
    from mnist_demo.warm import KeepWarm

    return KeepWarm()


# ---------------------------------------------------------------- canvas


def canvas_ui(stroke_width: int) -> np.ndarray | None:
    """The drawing canvas: (280, 280, 4) uint8 RGBA, or None before anything is drawn.

    Tests replace this function: AppTest cannot drive a custom component."""
    from streamlit_drawable_canvas import st_canvas

    from mnist_demo.preprocess import decode_canvas_png

    result = st_canvas(
        stroke_width=stroke_width,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=CANVAS_SIZE,
        width=CANVAS_SIZE,
        drawing_mode="freedraw",
        return_image_data=True,
        key=K_CANVAS,
    )
    png = result.image_bytes
    if png is None or not (result.json_data or {}).get("objects"):
        return None
    return decode_canvas_png(png, CANVAS_SIZE)


# ---------------------------------------------------------------- models and predictions


@dataclass
class Choice:
    kind: str
    label: str  # shown under the metric: where the model comes from
    predictor: object | None
    error: str | None = None


def saved_models():
    """The models in weights/, checked (zip and sha256) only when a file there changes: not on
    every rerun, which each stroke triggers."""
    from mnist_demo.store import weights_root

    folder = weights_root()
    try:
        stats = [(p.name, p.stat()) for p in folder.iterdir() if p.suffix in (".keras", ".json")]
        files = tuple(sorted((name, st_.st_mtime_ns, st_.st_size) for name, st_ in stats))
    except OSError:
        files = ()
    return _list_models(str(folder), files)


@st.cache_resource(show_spinner=False, max_entries=4)
def _list_models(folder: str, files: tuple):
    from mnist_demo.store import list_models

    return list_models(folder)


def model_choices(kind: str, saved) -> dict[str, str]:
    """{value: label} for the per-kind selector: this session's model, then saved models."""
    options = {}
    if kind in st.session_state[K_TRAINED]:
        res = st.session_state[K_TRAINED][kind]
        options[SESSION] = f"Trained in this session ({res.test_accuracy:.2%})"
    for m in saved:
        if m.error is None and m.kind == kind:
            acc = f"{m.accuracy:.2%}" if m.accuracy is not None else "accuracy unknown"
            date = str(m.meta.get("saved_at", ""))[:10]
            options[m.name] = f"{m.name} ({acc}, {date})"
    return options


def choose_model(kind: str, saved) -> Choice:
    options = model_choices(kind, saved)
    if not options:
        return Choice(kind, "no model", None, f"No {KINDS[kind]} model yet: train one below.")
    key = K_CHOICE.format(kind)
    if st.session_state.get(K_SELECT_NEW) == kind and SESSION in options:
        st.session_state[key] = SESSION
        st.session_state[K_SELECT_NEW] = None
    if st.session_state.get(key) not in options:
        st.session_state[key] = next(iter(options))
    value = st.selectbox(f"{KINDS[kind]} model", list(options), format_func=options.get, key=key)
    if value == SESSION:
        res = st.session_state[K_TRAINED][kind]
        return Choice(kind, "trained in this session", session_predictor(res))
    model = next(m for m in saved if m.name == value)
    try:
        stat = model.path.stat()
        predictor = load_predictor(str(model.path), stat.st_mtime, stat.st_size)
        return Choice(kind, f"saved: {model.name}", predictor)
    except (MnistDemoError, OSError) as e:
        return Choice(kind, f"saved: {model.name}", None, f"{model.name} is unavailable: {e}")


def session_predictor(result):
    """One traced predictor per kind of session model, rebuilt only when that model changes
    (keyed by kind: with a CNN and an MLP trained, a single slot would rebuild on every stroke)."""
    cache = st.session_state.setdefault("_predictors", {})
    kind = result.recipe.model
    if kind not in cache or cache[kind][0] is not result:
        from mnist_demo.predictor import Predictor

        cache[kind] = (result, Predictor(result.model))
    return cache[kind][1]


def predictions_ui(drawing: np.ndarray | None, choices: list[Choice], columns) -> None:
    """Every model's digit first (its metric is what people look at), then the details: the
    metrics' deltas reach the browser before the charts and images are even built."""
    if drawing is None:
        st.info(
            "Draw a digit on the black square: the predictions appear as soon as you lift the pen."
        )
        return
    from mnist_demo.preprocess import preprocess

    try:
        x = preprocess(drawing)
    except DrawingError as e:
        st.info(f"{e}.")
        return
    answers = []
    for choice, col in zip(choices, columns):
        with col:
            if choice.predictor is None:
                st.warning(choice.error)
                answers.append(None)
                continue
            probs = choice.predictor.probabilities(x)
            digit = int(probs.argmax())
            st.metric(
                f"Prediction · {KINDS[choice.kind]}",
                str(digit),
                f"{probs[digit]:.1%} sure",
                delta_color="off",
                delta_arrow="off",
                help=f"Model: {choice.label}",
            )
            answers.append((probs, st.container()))
    keep_warm().touch([c.predictor for c in choices if c.predictor is not None])
    seen = seen_png(x)
    for choice, answer in zip(choices, answers):
        if answer is not None:
            probs, box = answer
            box.html(details_html(choice.label, probs, seen))


def seen_png(x: np.ndarray) -> str:
    """The 28x28 input as a PNG data URI: inline, so that no image file has to be fetched."""
    buf = io.BytesIO()
    Image.fromarray(np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def details_html(label: str, probs: np.ndarray, seen: str) -> str:
    """Where the model comes from, its ten probabilities and the 28x28 it saw, in one element:
    each element is a message to the browser and a render, on every stroke."""
    return (
        f'<div style="font-size:14px;color:#6b7280;margin-bottom:6px">{escape(label)}</div>'
        '<div style="display:flex;gap:16px;align-items:flex-end">'
        f'<div style="flex:2.4">{probability_bars(probs)}</div>'
        '<figure style="flex:1;margin:0;text-align:center">'
        f'<img src="{seen}" alt="the 28x28 picture the model sees" width="112" height="112" '
        'style="image-rendering:pixelated;border-radius:4px">'
        '<figcaption style="font-size:12px;color:#6b7280">what it sees (28x28)</figcaption>'
        "</figure></div>"
    )


def probability_bars(probs: np.ndarray) -> str:
    """The ten probabilities as a bar chart in plain HTML: drawn by the browser in no time, where a
    chart library's render would add tens of milliseconds to every stroke."""
    top = int(probs.argmax())
    bars = "".join(
        f'<div style="flex:1;display:flex;flex-direction:column;align-items:center;'
        f'justify-content:flex-end;height:100%" title="{d}: {p:.1%}">'
        f'<div style="font-size:11px;color:#6b7280">{p:.0%}</div>'
        f'<div style="width:70%;height:{max(p * 100, 1):.1f}px;border-radius:3px 3px 0 0;'
        f'background:{"#2563eb" if d == top else "#9ca3af"}"></div>'
        f'<div style="font-size:14px;font-weight:{700 if d == top else 400}">{d}</div></div>'
        for d, p in enumerate(probs.tolist())
    )
    return (
        '<div role="img" aria-label="probability of each digit" '
        f'style="display:flex;align-items:flex-end;gap:2px;height:135px">{bars}</div>'
    )


# ---------------------------------------------------------------- training


def owner_alive_check():
    """A function telling whether this browser session is still connected (for the job thread)."""
    from streamlit.runtime import Runtime, exists
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not exists():
        return lambda: True
    runtime, session_id = Runtime.instance(), ctx.session_id
    gone_since: list[float] = []

    def alive() -> bool:
        # A reconnecting tab is briefly inactive: give it 10 s before stopping its training.
        if runtime.is_active_session(session_id):
            gone_since.clear()
            return True
        gone_since.append(gone_since[0] if gone_since else time.monotonic())
        return time.monotonic() - gone_since[0] < 10

    return alive


def start_training(recipe: Recipe) -> None:
    from mnist_demo.jobs import TrainingJob

    def load():
        data, error = mnist_or_error()
        if error:
            mnist_or_error.clear()  # let the next press try again
            raise DataError(error)
        return data

    st.session_state[K_MESSAGE] = None
    st.session_state[K_JOB] = TrainingJob(
        recipe, load, training_slots(), owner_alive=owner_alive_check()
    ).start()


def stop_training() -> None:
    job = st.session_state.get(K_JOB)
    if job is not None:
        job.stop()


def recipe_ui(kind: str, recipe_name: str, disabled: bool) -> Recipe:
    """The chosen recipe, with the user's steps or epochs, batch size and learning rate."""
    base = RECIPES[(kind, recipe_name)]
    c1, c2, c3 = st.columns(3)
    if base.steps is not None:
        n = c1.number_input(
            "Steps",
            10,
            100_000,
            base.steps,
            100,
            key=f"steps_{kind}_{recipe_name}",
            disabled=disabled,
        )
        changes = {"steps": int(n)}
    else:
        n = c1.number_input(
            "Epochs", 1, 50, base.epochs, 1, key=f"epochs_{kind}_{recipe_name}", disabled=disabled
        )
        changes = {"epochs": int(n)}
    changes["batch_size"] = int(
        c2.number_input(
            "Batch size",
            8,
            2048,
            base.batch_size,
            8,
            key=f"batch_{kind}_{recipe_name}",
            disabled=disabled,
        )
    )
    changes["learning_rate"] = float(
        c3.number_input(
            "Learning rate",
            1e-5,
            1e-1,
            base.learning_rate,
            format="%.0e",
            key=f"lr_{kind}_{recipe_name}",
            disabled=disabled,
        )
    )
    return base.with_(**changes)


def describe(recipe: Recipe) -> str:
    what = f"{recipe.steps:,} steps" if recipe.steps else f"{recipe.epochs} epochs"
    extra = []
    if recipe.schedule == "cosine":
        extra.append("warm-up + cosine decay")
    if recipe.augment:
        extra.append("drawing-like augmentation")
    if recipe.early_stopping_patience:
        extra.append(f"early stopping (patience {recipe.early_stopping_patience})")
    if recipe.validation == "split":
        extra.append(f"{recipe.validation_split:.0%} validation split")
    if recipe.average_steps:
        extra.append(f"keeps the weights averaged over the last ~{recipe.average_steps:,} steps")
    tail = f"; {', '.join(extra)}" if extra else ""
    return f"Adam {recipe.learning_rate:g}, batch {recipe.batch_size}, {what}{tail}."


def training_ui() -> None:
    st.subheader("Train a network")
    job = st.session_state.get(K_JOB)
    active = job is not None and job.state in ("waiting", "running")
    c1, c2 = st.columns(2)
    kind = c1.radio(
        "Network",
        list(KINDS),
        format_func=KINDS.get,
        horizontal=True,
        key="train_kind",
        disabled=active,
    )
    recipe_name = c2.radio(
        "Recipe",
        ["fast", "seed"],
        format_func={"fast": "fast (tuned for this CPU)", "seed": "seed (the tutorial's)"}.get,
        horizontal=True,
        key="train_recipe",
        disabled=active,
    )
    recipe = recipe_ui(kind, recipe_name, active)
    st.caption(describe(recipe))
    data_status_ui()

    b1, b2, _ = st.columns([1, 1, 3])
    b1.button(
        "Train",
        type="primary",
        key="train",
        disabled=active,
        on_click=start_training,
        args=(recipe,),
        width="stretch",
    )
    waiting = job is not None and job.state == "waiting"
    st.session_state[K_SHOWN_WAITING] = waiting  # live_ui reruns the page when that changes
    b2.button(
        "Cancel" if waiting else "Stop",
        key="stop",
        disabled=not active,
        on_click=stop_training,
        width="stretch",
    )
    if not active and training_slots().busy():
        st.info(
            "Another training is running on this server right now. Press Train to queue up: "
            "yours starts when it ends."
        )
    message = st.session_state.get(K_MESSAGE)
    if message:
        getattr(st, message[0])(message[1])
    if job is not None:
        st.fragment(run_every=REFRESH_S if active else None)(live_ui)()
    elif st.session_state.get(K_LAST_EVENTS):
        charts_ui(st.session_state[K_LAST_EVENTS])  # the last training's curves stay in view


def data_status_ui() -> None:
    from mnist_demo.data import ENV_VAR

    src = os.environ.get(ENV_VAR)
    if src and not Path(src).exists():
        st.error(
            f"MNIST is not at {ENV_VAR}={src}. Point {ENV_VAR} at an mnist.npz (Keras "
            "layout) or a folder of the four IDX files; drawing and predicting still work."
        )
    elif not src and not (Path.home() / ".keras" / "datasets" / "mnist.npz").exists():
        st.caption("MNIST (11 MB) will be downloaded on the first training.")


def live_ui() -> None:
    """Progress, live charts and the end of a training; polled while the training runs."""
    job = st.session_state.get(K_JOB)
    if job is None:
        return
    view = job.view()
    if st.session_state.get(K_SHOWN_WAITING) and view.state != "waiting":
        st.rerun(scope="app")  # the queued training started: Cancel becomes Stop
    if view.state == "waiting":
        st.info(
            f"Another training is running on this server ({view.queued_behind} ahead of you). "
            "Yours starts as soon as it ends; Cancel to leave the queue."
        )
        return
    steps = [e for e in view.events if e["kind"] in ("step", "eval")]
    last = steps[-1] if steps else None
    if last is not None:
        done = min(1.0, last["step"] / max(1, last["total_steps"]))
        left = (last["total_steps"] - last["step"]) * last["elapsed"] / max(1, last["step"])
        st.progress(
            done,
            text=f"step {last['step']:,} / {last['total_steps']:,} · "
            f"{last['samples_per_s']:,.0f} samples/s · about {left:.0f} s left",
        )
    elif view.state == "running":
        st.progress(0.0, text="Preparing (loading MNIST, building the network)...")
    charts_ui(view.events)
    if view.state in ("done", "stopped", "failed", "cancelled"):
        finish(view)


def charts_ui(events: list[dict]) -> None:
    import pandas as pd

    steps = [e for e in events if e["kind"] == "step"]
    evals = [e for e in events if e["kind"] == "eval"]
    if not steps:
        return
    train = pd.DataFrame(steps).set_index("step")
    val_key = next((k for k in ("test_accuracy", "val_accuracy") if evals and k in evals[-1]), None)
    c1, c2 = st.columns(2)
    c1.caption("Loss (training batches)")
    c1.line_chart(train[["loss"]], height=220, x_label="step")
    acc = train[["accuracy"]].rename(columns={"accuracy": "training"})
    if val_key:
        ev = pd.DataFrame(evals).set_index("step")[[val_key]]
        label = "test" if val_key == "test_accuracy" else "validation"
        acc = acc.join(ev.rename(columns={val_key: label}), how="outer").ffill()
    c2.caption("Accuracy")
    c2.line_chart(acc, height=220, x_label="step")


def finish(view) -> None:
    """Once, when a training ends: keep its model for this session and refresh the page."""
    job = st.session_state.pop(K_JOB, None)
    if view.state == "failed":
        st.session_state[K_MESSAGE] = ("error", view.error)
    elif view.state == "cancelled":
        st.session_state[K_MESSAGE] = ("info", "Training cancelled before it started.")
    elif view.result is not None:
        res = view.result
        kind = res.recipe.model
        st.session_state[K_TRAINED][kind] = res
        st.session_state[K_SELECT_NEW] = kind  # applied before the selector is drawn again
        st.session_state[K_LAST_EVENTS] = view.events
        word = "Stopped" if view.state == "stopped" else "Done"
        st.session_state[K_MESSAGE] = (
            "success",
            f"{word}: {KINDS[kind]} trained {res.steps:,} steps in {res.seconds:.1f} s, "
            f"test accuracy {res.test_accuracy:.2%}. It now answers your drawings.",
        )
    del job
    st.rerun(scope="app")


def save_ui() -> None:
    trained = st.session_state[K_TRAINED]
    if not trained:
        return
    st.subheader("Save a trained model")
    c1, c2, c3 = st.columns([1, 2, 1])
    kind = c1.selectbox("Model", list(trained), format_func=KINDS.get, key="save_kind")
    name = c2.text_input("Name", value=f"my-{kind}", key="save_name", max_chars=64)
    if c3.button("Save", key="save", width="stretch"):
        from mnist_demo.store import sanitize_name, save_model

        res = trained[kind]
        try:
            stem = sanitize_name(name)
            if stem in ("cnn", "mlp"):
                raise MnistDemoError(f"{stem!r} is a shipped model: choose another name")
            meta = {
                "model": kind,
                "recipe": res.recipe.name,
                "settings": res.recipe.settings(),
                "precision": res.precision,
                "test_accuracy": round(res.test_accuracy, 6),
                "test_loss": round(res.test_loss, 6),
                "steps": res.steps,
                "epochs": round(res.epochs, 3),
                "train_seconds": round(res.seconds, 2),
                "stopped_early": res.stopped,
                "command": "trained in MNIST Studio (streamlit run app.py)",
            }
            path = save_model(res.model, stem, meta)
            st.success(f"Saved as {path.name}: it is now in the model choices of every session.")
        except MnistDemoError as e:
            st.error(str(e))
        except OSError as e:
            st.error(f"Could not save: {e}")


# ---------------------------------------------------------------- page


def init_state() -> None:
    st.session_state.setdefault(K_TRAINED, {})
    st.session_state.setdefault(K_JOB, None)
    st.session_state.setdefault(K_MESSAGE, None)


@st.fragment
def draw_and_predict_ui(canvas, saved) -> None:
    """The canvas and the predictions. A fragment: a stroke reruns only this part of the page,
    not the training panel below it."""
    draw_col, pred_col = st.columns([1, 2], gap="large")
    with draw_col:
        st.subheader("Draw")
        stroke = st.session_state.get(K_STROKE, 20)
        drawing = canvas(stroke)
        st.slider("Pen width", 8, 40, 20, key=K_STROKE)
        st.caption("Undo, redo and clear are in the toolbar above the canvas.")
    with pred_col:
        st.subheader("Predictions")
        columns = st.columns(len(KINDS), border=True)
        choices = []
        for col, kind in zip(columns, KINDS):
            with col:
                choices.append(choose_model(kind, saved))
        predictions_ui(drawing, choices, columns)


def main(canvas=canvas_ui) -> None:
    st.set_page_config(page_title="MNIST Studio", page_icon="✍️", layout="wide")
    init_state()
    st.title("MNIST Studio")
    st.caption(
        "Draw a digit. Two classic networks (a convolutional network and a multilayer "
        "perceptron) read it the way they read MNIST. Train them again below and watch them learn."
    )
    saved = saved_models()
    draw_and_predict_ui(canvas, saved)
    unusable = [m for m in saved if m.error]
    if unusable:
        with st.expander(f"{len(unusable)} saved model(s) unavailable"):
            for m in unusable:
                st.warning(f"{m.path.name}: {m.error}")
    st.divider()
    training_ui()
    save_ui()


if __name__ == "__main__":
    main()
