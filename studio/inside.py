"""Inside the networks: what each layer makes of the drawing, the first layer's filters, which
pixels pushed the answer, and each model's summary. Computed only while the section is open."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.errors import MnistDemoError
from studio import state
from studio.cards import probability_bars
from studio.choose import Choice
from studio.pictures import grey, grid, maps_grid, png, signed

if TYPE_CHECKING:
    from mnist_demo.nets.inside import Inside

_INSIDES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # predictor -> Inside
CAPTIONS = {
    "conv1": "<b>conv1</b>: 32 filters of 5x5 pixels slide over the picture; each map is where its "
    "filter found its pattern (an edge, a stroke's end at some angle). ReLU keeps only the positive "
    "responses: black is none.",
    "pool1": "<b>pool1</b>: each 2x2 square keeps its strongest response. The maps halve to 14x14: "
    "what was found matters more than exactly where.",
    "conv2": "<b>conv2</b>: 64 filters, each looking at all 32 maps of pool1 through a 5x5 window: "
    "patterns of patterns (a loop, a corner, a crossing).",
    "pool2": "<b>pool2</b>: halved again, to 7x7. These 3,136 numbers are all the rest of the network "
    "sees of the drawing.",
}


def inside_ui(choices: list[Choice]) -> None:
    box = st.expander("Inside the networks", key=state.INSIDE_OPEN, on_change="rerun")
    if not box.open:
        return
    with box:
        x, source = _input()
        if x is None:
            st.info(
                "Draw a digit above (or pick a misread test digit in the Test report) to "
                "see what each layer makes of it."
            )
            return
        usable = [c for c in choices if c.predictor is not None]
        if not usable:
            st.warning("No model can answer right now.")
            return
        kinds = [c.kind for c in usable]
        kind = st.radio(
            "Network", kinds, format_func=MODEL_KINDS.get, horizontal=True, key=state.INSIDE_KIND
        )
        choice = usable[kinds.index(kind)] if kind in kinds else usable[0]
        try:
            inside = _inside(choice.predictor)
        except MnistDemoError as e:
            st.warning(f"Nothing to show inside this model: {e}.")
            return
        acts = inside.activations(x)
        st.caption(f"{source} · {choice.label}")
        why_ui(inside, x, acts["softmax"])
        (cnn_ui if inside.kind == "cnn" else mlp_ui)(inside, x, acts)
        summary_ui(inside.model)


def _input():
    """(the 28x28 input to show, where it comes from), or (None, None)."""
    picked = st.session_state.get(state.INSIDE_DIGIT)
    if picked is not None:
        index, image, label = picked
        if st.button("Back to my drawing", key="inside_back"):
            st.session_state[state.INSIDE_DIGIT] = None
            st.rerun()
        return image, f"Test digit #{index} (a {label})"
    seen = st.session_state.get(state.SEEN)
    return (seen, "Your drawing") if seen is not None else (None, None)


def _inside(predictor) -> Inside:
    # TensorFlow loads with the section's first opening, never on the way to the first paint.
    from mnist_demo.nets.inside import Inside

    if predictor not in _INSIDES:
        _INSIDES[predictor] = Inside(predictor.model)
    return _INSIDES[predictor]


def why_ui(inside: Inside, x: np.ndarray, probs: np.ndarray) -> None:
    """The heat map of integrated gradients for the answer, or for any digit asked about."""
    answer = int(probs.argmax())
    if st.session_state.get(state.INSIDE_ANSWER) != answer:  # a new answer: explain it first
        st.session_state[state.INSIDE_ANSWER] = st.session_state[state.INSIDE_WHY] = answer
    left, right = st.columns([1, 2], gap="large")
    digit = left.selectbox(
        "Why this digit?",
        range(10),
        key=state.INSIDE_WHY,
        format_func=lambda d: f"{d} (the answer)" if d == answer else f"{d}: why not?",
    )
    heat = inside.attributions(x, digit)
    top = float(np.abs(heat).max())
    left.html(grid([png(signed(heat, top, under=x))], [f"heat map for digit {digit}"], 196, 1))
    right.markdown(
        f"**Why {digit}?** Red pixels pushed the network's score for {digit} up, blue ones "
        f"pushed it down ({probs[digit]:.1%} sure of {digit}). Method: integrated gradients "
        "(the score's gradient averaged along a straight path from a blank canvas to this "
        "picture, times the picture), 32 steps; the pixels' values add up to how much the "
        "score rose from the blank canvas."
    )
    right.html("<b>The ten outputs</b> (softmax)" + probability_bars(probs))


def cnn_ui(inside: Inside, x: np.ndarray, acts: dict) -> None:
    """Every layer in one HTML element: one message, one piece of the page to redraw."""
    parts = [
        "<p><b>The input</b>: 28x28 grey levels, what the network reads of your drawing.</p>",
        grid([png(grey(x, 1.0))], ["input"], 84, 1),
    ]
    for layer, size in (("conv1", 56), ("pool1", 42), ("conv2", 42), ("pool2", 28)):
        parts += [f"<p>{CAPTIONS[layer]}</p>", maps_grid(acts[layer], layer, size, 16)]
    dense = acts["fully_connected"]
    strongest = np.argsort(-dense)[:8]
    parts.append(
        f"<p><b>fully_connected</b>: 1,024 units, each a weighted vote over all of pool2; "
        f"{int((dense > 0).sum())} respond to this drawing. The strongest: "
        + ", ".join(f"unit {u + 1} ({dense[u]:.1f})" for u in strongest)
        + ". Each square below is one unit (32x32 of them), brighter is stronger.</p>"
    )
    parts.append(
        grid(
            [png(grey(dense.reshape(32, 32), float(dense.max())))],
            ["fully_connected units"],
            128,
            1,
        )
    )
    parts.append(
        "<p><b>The 32 conv1 filters</b> (5x5 weights; red positive, blue negative): the "
        "patterns the first layer looks for.</p>" + _filters_html(inside)
    )
    html = "".join(parts).replace("<p>", '<p style="margin:14px 0 6px">')
    st.html('<div style="font-size:15px;line-height:1.45">' + html + "</div>")


def _filters_html(inside: Inside) -> str:
    """The conv1 filters' grid: the same for every drawing, made once per model."""
    if not hasattr(inside, "filters_html"):
        filters = inside.first_filters()
        top = float(np.abs(filters).max())
        inside.filters_html = grid(
            [png(signed(f, top)) for f in filters],
            [f"conv1 filter {i + 1}" for i in range(len(filters))],
            40,
            16,
        )
    return inside.filters_html


def mlp_ui(inside: Inside, x: np.ndarray, acts: dict) -> None:
    units = acts["dense1"]
    order = np.argsort(-units)[:32]
    weights = inside.first_filters()
    top = float(np.abs(weights[order]).max())
    st.markdown(
        f"**dense1**: 512 units, each a weighted sum of all 784 pixels; {int((units > 0).sum())} "
        "respond to this drawing. Below, the weights of the 32 most active (red: ink there "
        "raises the unit, blue: lowers it), with their activation. Unlike a filter, each "
        "looks at the whole picture at once, at fixed places."
    )
    st.html(
        grid(
            [png(signed(weights[u], top)) for u in order],
            [f"dense1 unit {u + 1}" for u in order],
            56,
            16,
            captions=[f"{units[u]:.1f}" for u in order],
        )
    )
    st.markdown(f"**dense2**: 512 more units, {int((acts['dense2'] > 0).sum())} responding.")


def summary_ui(model) -> None:
    import pandas as pd  # not on the path to the first paint

    from mnist_demo.nets.inside import summary

    rows, total = summary(model)
    st.markdown(f"**Model summary**: {total:,} parameters.")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="content")
