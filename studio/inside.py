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
from studio.i18n import t
from studio.pictures import grey, grid, maps_grid, png, signed

if TYPE_CHECKING:
    from mnist_demo.nets.inside import Inside

_INSIDES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # predictor -> Inside


def inside_ui(choices: list[Choice]) -> None:
    box = st.expander(t("inside.inside_the_networks"), key=state.INSIDE_OPEN, on_change="rerun")
    if not box.open:
        return
    with box:
        x, source = _input()
        if x is None:
            st.info(t("inside.draw_a_digit_above_or"))
            return
        usable = [c for c in choices if c.predictor is not None]
        if not usable:
            st.warning(t("inside.no_model_can_answer_right"))
            return
        kinds = [c.kind for c in usable]
        kind = st.radio(
            t("inside.network"),
            kinds,
            format_func=MODEL_KINDS.get,
            horizontal=True,
            key=state.INSIDE_KIND,
        )
        choice = usable[kinds.index(kind)] if kind in kinds else usable[0]
        try:
            inside = _inside(choice.predictor)
        except MnistDemoError as e:
            st.warning(t("inside.nothing_to_show_inside_this", e=e))
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
        if st.button(t("inside.back_to_my_drawing"), key="inside_back"):
            st.session_state[state.INSIDE_DIGIT] = None
            st.rerun()
        return image, t("inside.test_digit_a", index=index, label=label)
    seen = st.session_state.get(state.SEEN)
    return (seen, t("inside.your_drawing")) if seen is not None else (None, None)


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
        t("inside.why_this_digit"),
        range(10),
        key=state.INSIDE_WHY,
        format_func={
            d: t("inside.the_answer", d=d) if d == answer else t("inside.why_not", d=d)
            for d in range(10)
        }.get,
    )
    heat = inside.attributions(x, digit)
    top = float(np.abs(heat).max())
    left.html(
        grid(
            [png(signed(heat, top, under=x))], [t("inside.heat_map_for_digit", digit=digit)], 196, 1
        )
    )
    right.markdown(t("inside.why_red_pixels_pushed_the", digit=digit, v5=probs[digit]))
    right.html(t("inside.the_ten_outputs") + probability_bars(probs))


def cnn_ui(inside: Inside, x: np.ndarray, acts: dict) -> None:
    """Every layer in one HTML element: one message, one piece of the page to redraw."""
    parts = [
        f"<p>{t('inside.the_input')}</p>",
        grid([png(grey(x, 1.0))], [t("inside.input")], 84, 1),
    ]
    for layer, size in (("conv1", 56), ("pool1", 42), ("conv2", 42), ("pool2", 28)):
        parts += [f"<p>{t('inside.caption_' + layer)}</p>", maps_grid(acts[layer], layer, size, 16)]
    dense = acts["fully_connected"]
    strongest = np.argsort(-dense)[:8]
    parts.append(
        "<p>"
        + t(
            "inside.fully_connected",
            n=int((dense > 0).sum()),
            strongest=", ".join(t("inside.unit", v1=u + 1, v3=dense[u]) for u in strongest),
        )
        + "</p>"
    )
    parts.append(
        grid(
            [png(grey(dense.reshape(32, 32), float(dense.max())))],
            [t("inside.fully_connected_units")],
            128,
            1,
        )
    )
    parts.append(f"<p>{t('inside.the_32_conv1_filters')}</p>" + _filters_html(inside))
    html = "".join(parts).replace("<p>", '<p style="margin:14px 0 6px">')
    st.html('<div style="font-size:15px;line-height:1.45">' + html + "</div>")


def _filters_html(inside: Inside) -> str:
    """The conv1 filters' grid: the same for every drawing, made once per model."""
    if not hasattr(inside, "filters_html"):
        filters = inside.first_filters()
        top = float(np.abs(filters).max())
        inside.filters_html = grid(
            [png(signed(f, top)) for f in filters],
            [t("inside.conv1_filter", v1=i + 1) for i in range(len(filters))],
            40,
            16,
        )
    return inside.filters_html


def mlp_ui(inside: Inside, x: np.ndarray, acts: dict) -> None:
    units = acts["dense1"]
    order = np.argsort(-units)[:32]
    weights = inside.first_filters()
    top = float(np.abs(weights[order]).max())
    st.markdown(t("inside.dense1_512_units_each_a", int=int((units > 0).sum())))
    st.html(
        grid(
            [png(signed(weights[u], top)) for u in order],
            [t("inside.dense1_unit", v1=u + 1) for u in order],
            56,
            16,
            captions=[f"{units[u]:.1f}" for u in order],
        )
    )
    st.markdown(t("inside.dense2_512_more_units_responding", int=int((acts["dense2"] > 0).sum())))


def summary_ui(model) -> None:
    import pandas as pd  # not on the path to the first paint

    from mnist_demo.nets.inside import summary

    rows, total = summary(model)
    st.markdown(t("inside.model_summary_parameters", total=total))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="content")
