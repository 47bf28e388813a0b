"""The canvas and the predictions beside it: every finished stroke is read by each chosen model."""

from __future__ import annotations

import functools
import logging

import numpy as np
import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.drawing.canvas import decode_canvas_png
from mnist_demo.drawing.preprocess import preprocess
from mnist_demo.errors import DrawingError, first_line
from studio import classview, state
from studio.cards import details_html, plain, reading_html, seen_png
from studio.choose import Choice, choose_model
from studio.i18n import error_text, t
from studio.inside import inside_ui
from studio.teach import my_digits_ui, teach_bar_ui

log = logging.getLogger(__name__)
CANVAS_SIZE = 280
PEN = (8, 40, 20)  # the pen width slider: min, max, default
NARROW = "max-width:640px"  # where Streamlit stacks columns: the predictions go below the canvas
# On a narrow screen a strip under the canvas repeats each model's digit, which the stacked
# columns would push below the fold.
# While a training runs its curves and live panel are redrawn every 1.5 s; Streamlit fades what a
# rerun has not redrawn yet, and the charts read faded a quarter of the time. They are current
# until replaced: never faded.
PAGE_STYLE = (
    f"<style>.st-key-reading{{display:none}}"
    f"@media({NARROW}){{.st-key-reading{{display:block}}}}"
    ".st-key-curves [data-stale=true],.st-key-progress [data-stale=true]"
    "{opacity:1!important;transition:none!important}"
    # Start a class, beside the class view's toggle: no taller than the toggle's row.
    ".st-key-class_start button,.st-key-lang_switch button{min-height:0;padding:.15rem .6rem}</style>"
)
# The canvas' own toolbar (undo, redo, clear: real buttons) shows only while a mouse hovers over
# the canvas. Pinned, finger-sized (44 px) and with words beside the icons, a touch screen and a
# keyboard reach them too. Its Edit button (Fabric's select mode) is hidden: one click there turned
# drawing off with no word of it, and the toolbar re-laid itself out under the finger; its send
# arrow too, since every stroke is read as it ends. The canvas lives in a shadow root, where the
# page's styles do not reach: a small script puts this style inside it.
CANVAS_STYLE = (
    # Anchored at the canvas' left edge (the component anchors it at the right, and a narrow
    # column then pushed Undo off the screen's left edge).
    ".dc-toolbar{opacity:1!important;top:-3.5rem!important;left:0;right:auto;padding-left:0}"
    ".dc-root{margin-top:3.6rem}"
    '.dc-icon-button[aria-label="Edit"],.dc-icon-button[aria-label^="Update the app"],'
    '.dc-icon-button[aria-label="Delete selected"],.dc-icon-button[aria-label="Send backward"]'
    "{display:none!important}"
    ".dc-icon-button{min-width:44px;min-height:44px}"
    '.dc-icon-button[aria-label="Undo"]::after{content:"@undo";margin-left:.3rem}'
    '.dc-icon-button[aria-label="Redo"]::after{content:"@redo";margin-left:.3rem}'
    '.dc-icon-button[aria-label^="Reset"]::after{content:"@clear";margin-left:.3rem}'
    '.dc-icon-button[aria-label="Undo"],.dc-icon-button[aria-label="Redo"],'
    '.dc-icon-button[aria-label^="Reset"]{width:auto!important;padding:0 .5rem;font-size:.9rem;'
    "white-space:nowrap}"
)
TOOLBAR = {"undo": "draw.undo", "redo": "draw.redo", "clear": "draw.clear"}
_DRESS_CANVAS_JS = """
export default function ({ data }) {
  const dress = () => {
    for (const el of document.querySelectorAll("*")) {
      const root = el.shadowRoot;
      if (!root || !root.querySelector(".canvas-root")) continue;
      let style = root.querySelector("style[data-studio]");
      if (!style) {
        style = document.createElement("style");
        style.dataset.studio = "";
        root.appendChild(style);
      }
      if (style.textContent !== data.css) style.textContent = data.css;  // a new language
    }
  };
  dress();
  let pending = false;  // one look a frame, however many changes the page makes in it
  const watch = new MutationObserver(() => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(() => { pending = false; dress(); });
    }
  });
  watch.observe(document.body, { childList: true, subtree: true });
  return () => watch.disconnect();
}
"""


def style_ui() -> None:
    """The page's styles, once a page (not on every stroke: the canvas' fragment reruns alone)."""
    st.html(PAGE_STYLE)
    css = CANVAS_STYLE
    for button, key in TOOLBAR.items():  # the toolbar's words, in the page's language
        css = css.replace(f"@{button}", t(key).replace('"', ""))
    _dress_canvas()(data={"css": css}, key="dress-canvas")


@functools.cache
def _dress_canvas():
    return st.components.v2.component(
        "mnist_studio.dress_canvas", html="<span></span>", js=_DRESS_CANVAS_JS
    )


HINT = "draw.draw_a_digit_on_the"


def canvas_ui(stroke_width: int) -> np.ndarray | None:
    """The drawing canvas: (280, 280, 4) uint8 RGBA, or None before anything is drawn.

    Tests replace this function: AppTest cannot drive a custom component."""
    # Imported here: the component refuses to be imported outside a Streamlit script run.
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(
        stroke_width=stroke_width,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=CANVAS_SIZE,
        width=CANVAS_SIZE,
        drawing_mode="freedraw",
        return_image_data=True,
        key=state.CANVAS,
    )
    try:
        objects = result.json_data.get("objects") if isinstance(result.json_data, dict) else None
        png = result.image_bytes if objects else None  # the data URL the browser sent, decoded
        return None if png is None else decode_canvas_png(png, CANVAS_SIZE)
    except (DrawingError, ValueError, TypeError, AttributeError) as e:
        # Not what a canvas sends (a bad data URL, bad base64, not a PNG): nothing drawn, and
        # the log says why in one line.
        log.warning("canvas export refused: %s", first_line(e)[:200])
        return None


@st.fragment
def draw_and_predict_ui(canvas, saved) -> None:
    """The canvas and the predictions. A fragment: a stroke reruns only this part of the page,
    not the training panel below it."""
    # In the class view the column is narrow: the predictions go under the canvas.
    if classview.on():
        draw_col, pred_col = st.container(), st.container()
    else:
        draw_col, pred_col = st.columns([1, 2], gap="large")
    with draw_col:
        st.container(key="head-draw").subheader(t("draw.draw"))
        drawing = canvas(st.session_state.get(state.STROKE, PEN[2]))
        reading = st.container(key="reading").empty()  # shown on narrow screens only
        with st.container(key="pen"):
            st.slider(t("draw.pen_width"), *PEN, key=state.STROKE)
        with st.container(key="canvas-hint"):
            st.caption(t("draw.undo_redo_and_clear_are"))
    with pred_col:
        st.container(key="head-predictions").subheader(t("draw.predictions"))
        columns = st.columns(len(MODEL_KINDS), border=True)
        choices, slots = [], []
        for col, kind in zip(columns, MODEL_KINDS):
            with col, st.container(key=f"choice-{kind}"):
                choices.append(choose_model(kind, saved))
                # Fixed places for the answer: written empty when there is none, so that a
                # cleared canvas never leaves the last answer on screen.
                slots.append((st.empty(), st.empty()))
        x, read = predictions_ui(drawing, choices, slots, reading)
        if x is not None:
            teach_bar_ui(drawing, x, read)
        my_digits_ui(choices)
    inside_ui(choices)  # in this fragment: it follows every stroke


def predictions_ui(drawing: np.ndarray | None, choices: list[Choice], slots, reading):
    """Every model's digit first (its metric is what people look at), then the details: the
    metrics' deltas reach the browser before the bars and images are even built. Returns the
    28x28 read and [(network's name, digit it reads)], or (None, None)."""
    if drawing is None:
        show_to_training(None)
        st.info(t(HINT))
        return None, None
    try:
        x = preprocess(drawing)
    except DrawingError as e:
        show_to_training(None)
        st.info(f"{error_text(e)}.")
        return None, None
    show_to_training(x)
    detector, _ = state.unlike_detector()
    # The shipped networks' answers come with the not-a-digit signals, in one call: a stroke
    # reads them once, not twice (the server's CPU per stroke is what a class of 32 shares).
    unlike, *shipped = detector.read(x) if detector is not None else (False, None, None)
    ready = dict(zip(MODEL_KINDS, shipped))
    answers = [
        metric_ui(choice, x, slot, ready.get(choice.kind) if choice.shipped else None)
        for choice, slot in zip(choices, slots)
    ]
    reading.html(
        reading_html([(MODEL_KINDS[c.kind], a and a[0]) for c, a in zip(choices, answers)])
    )
    if unlike:
        st.warning(t(UNLIKE), icon="🤔")
    used = [c.predictor for c in choices if c.predictor is not None and not c.shipped]
    state.keep_warm().touch(used + ([detector] if detector is not None else []))
    seen = seen_png(x)
    for choice, answer in zip(choices, answers):
        if answer is not None:
            probs, box = answer
            box.html(details_html(choice.label, probs, seen))
    read = [(MODEL_KINDS[c.kind], int(a[0].argmax())) for c, a in zip(choices, answers) if a]
    return x, read


UNLIKE = "draw.this_does_not_look_like"  # one sentence: read aloud in a class, it is over before the next drawing


def show_to_training(x: np.ndarray | None) -> None:
    """The 28x28 of the drawing, for the live predictions of a training in progress."""
    st.session_state[state.SEEN] = x
    job = st.session_state.get(state.JOB)
    if job is not None:
        job.set_drawing(x)


def metric_ui(choice: Choice, x: np.ndarray, slot, probs=None):
    """One model's digit and how sure it is, in its slot (`probs`: its probabilities, already
    read); (probabilities, the details' place) or None."""
    metric_box, details_box = slot
    if choice.predictor is None:
        metric_box.warning(choice.error)
        return None
    if probs is None:
        probs = choice.predictor.probabilities(x)
    digit = int(probs.argmax())
    metric_box.metric(
        t("draw.prediction", v1=MODEL_KINDS[choice.kind]),
        str(digit),
        t("draw.sure", v0=probs[digit]),
        delta_color="off",
        delta_arrow="off",
        help=plain(choice.about),
    )
    return probs, details_box
