"""Live predictions: twenty fixed digits the network never trains on and the visitor's drawing,
read again by the network being trained at every evaluation (as TensorFlow.js' MNIST example
does), from before its first step: a tick for right, a cross for wrong, in blue and orange, which
colour-blind eyes tell apart too.

The training reads them between two of its steps (mnist_demo/training/reporter.py); this panel only shows
what the last evaluation said. One HTML element: inline images, no files to fetch.
"""

from __future__ import annotations

import functools
from html import escape

import numpy as np
import streamlit as st

from mnist_demo.events import EVAL, panel_images
from studio import state
from studio.cards import seen_png
from studio.i18n import t

# Okabe and Ito's blue and vermillion: apart under every common colour blindness, and each with
# its symbol, so that colour is never the only sign.
WRONG, RIGHT, MUTED = "#d55e00", "#0072b2", "#6b7280"
TICK, CROSS = "\u2713", "\u2717"


def live_panel_ui(events: list[dict], with_drawing: bool = True) -> None:
    st.markdown("##### " + t("live.live_predictions"))
    last = next((e for e in reversed(events) if e["kind"] == EVAL and "panel" in e), None)
    digits = panel_digits()
    figures = []
    for i, (image, label) in enumerate(digits):
        read = last["panel"][i] if last and i < len(last["panel"]) else None
        figures.append(_figure(image, t("live.held_out_digit", label=label), read, label))
    if with_drawing:
        drawing = st.session_state.get(state.SEEN)
        read = last.get("drawing") if last and drawing is not None else None
        figures.append(_figure(drawing, t("live.your_drawing"), read, None))
    st.html(
        '<div style="display:grid;grid-template-columns:repeat(7,minmax(0,1fr));gap:6px">'
        + "".join(figures)
        + "</div>"
    )
    wrong = sum(1 for i, (_, y) in enumerate(digits) if last and last["panel"][i] != y)
    st.caption(
        t(
            "live.digits_it_never_trains_on",
            step=last["step"],
            wrong=wrong,
            len=len(digits),
            cross=CROSS,
        )
        if last
        else t("live.the_network_reads_these_before", tick=TICK, cross=CROSS)
    )


@functools.cache
def _panel_pngs(images: bytes, labels: tuple) -> tuple:
    x = np.frombuffer(images, np.uint8).reshape(-1, 28, 28)
    return tuple((seen_png(im / 255.0), y) for im, y in zip(x, labels))


def panel_digits() -> tuple:
    """((PNG data URI, label), ...) of the panel's digits; () without MNIST."""
    data, _ = state.mnist_or_error()
    if data is None:
        return ()
    x, y = panel_images(data)
    return _panel_pngs(np.ascontiguousarray(x).tobytes(), tuple(int(v) for v in y))


def _figure(image, name: str, read: int | None, label: int | None) -> str:
    if image is None:
        word_none = True
        image = seen_png(np.zeros((28, 28), np.float32))  # an empty canvas
    else:
        word_none = False
        image = image if isinstance(image, str) else seen_png(image)
    judged = read is not None and label is not None
    wrong = judged and read != label
    colour = WRONG if wrong else RIGHT if judged else MUTED
    mark = (CROSS if wrong else TICK) if judged else ""
    verdict = (" wrong" if wrong else " right") if judged else ""
    word = (
        t("live.predicted", read=read, mark=mark, verdict=verdict).strip()
        if read is not None
        else t("live.not_read_yet")
    )
    if word_none:
        word = t("live.nothing_drawn")
    alt = escape(f"{name}: {word}")
    picture = (
        f'<img src="{image}" alt="{alt}" width="44" height="44" style="image-rendering:pixelated;'
        f'border:2px solid {colour};border-radius:4px;width:100%;max-width:44px;height:auto">'
    )
    shown = "?" if read is None else f"{read} {mark}".strip()
    return (
        f'<figure style="margin:0;text-align:center" title="{alt}">{picture}'
        f'<figcaption style="font-size:13px;color:{colour};font-weight:700">{shown}'
        "</figcaption></figure>"
    )
