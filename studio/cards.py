"""A model's answer in detail, as plain HTML: its ten probabilities and the 28x28 it saw.

One HTML element per model: each element is a message to the browser and a render, on every
stroke. No Streamlit here, so that the cards can be tested as strings.
"""

from __future__ import annotations

import base64
import io
import re
from html import escape

import numpy as np
from PIL import Image

from mnist_demo import settings
from studio.i18n import t

MUTED = "#6b7280"
TOP, OTHER = "#2563eb", "#9ca3af"  # the bar of the digit read, and the other nine


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|~$:&^=\"'%@?;,/"})


def plain(text: str) -> str:
    """`text` for a place Streamlit renders as Markdown (a message, a tooltip), as itself: every
    punctuation mark escaped, so a file named `[a](http:x)` stays those characters, not a link."""
    return str(text).translate(_MARKDOWN)


_ABSOLUTE = re.compile(r"(?<![\w.$:/~])(?:~/|/)(?:[^\s/'\"]+/)*([^\s/'\"]+)")


def no_paths(text: str) -> str:
    """A message for visitors, without the server's paths: $MNIST_DATA by its name, any other
    absolute path by its last part (the server's log keeps the whole message)."""
    data = settings.MNIST_DATA.raw()
    text = str(text).replace(data, "$MNIST_DATA") if data else str(text)
    return _ABSOLUTE.sub(lambda m: m[1], text)


def seen_png(x: np.ndarray) -> str:
    """(28, 28) float32 in [0, 1] -> a PNG data URI: inline, so no image file has to be fetched."""
    buf = io.BytesIO()
    Image.fromarray(np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def details_html(label: str, probs: np.ndarray, seen: str) -> str:
    """Where the model comes from, its ten probabilities (10,) and the 28x28 it saw (a data URI)."""
    return (
        f'<div style="font-size:14px;color:{MUTED};margin-bottom:6px">{escape(label)}</div>'
        # The picture shrinks with a narrow card (a tablet's column) instead of leaving it.
        '<div style="display:flex;gap:12px;align-items:flex-end;min-width:0">'
        f'<div style="flex:2.4;min-width:0">{probability_bars(probs)}</div>'
        '<figure style="flex:1;min-width:0;max-width:112px;margin:0;text-align:center">'
        f'<img src="{seen}" alt="{t("cards.the_picture_the_model_sees")}" width="112" height="112" '
        'style="image-rendering:pixelated;border-radius:4px;width:100%;height:auto">'
        f'<figcaption style="font-size:12px;color:{MUTED}">{t("cards.what_it_sees")}</figcaption>'
        "</figure></div>"
    )


def reading_html(answers: list[tuple[str, np.ndarray | None]]) -> str:
    """Each model's digit in one line, [(model kind's name, probabilities (10,) or None)]: what a
    phone shows under the canvas, where the full answers are a scroll away."""
    parts = [
        f'<span style="margin-right:18px">{t("cards.reads", name=escape(name))} '
        f'<b style="font-size:22px">{int(p.argmax())}</b> '
        f'<span style="color:{MUTED}">{t("cards.sure", p=p.max())}</span></span>'
        for name, p in answers
        if p is not None
    ]
    return f'<div aria-label="{t("cards.what_the_models_read")}">{"".join(parts)}</div>'


def probability_bars(probs: np.ndarray) -> str:
    """The ten probabilities as a bar chart in plain HTML: drawn by the browser in no time, where a
    chart library's render would add tens of milliseconds to every stroke."""
    top = int(probs.argmax())
    bars = "".join(
        f'<div style="flex:1;display:flex;flex-direction:column;align-items:center;'
        f'justify-content:flex-end;height:100%" title="{d}: {p:.1%}">'
        f'<div style="font-size:11px;color:{MUTED}">{p:.0%}</div>'
        f'<div style="width:70%;height:{max(p * 100, 1):.1f}px;border-radius:3px 3px 0 0;'
        f'background:{TOP if d == top else OTHER}"></div>'
        f'<div style="font-size:14px;font-weight:{700 if d == top else 400}">{d}</div></div>'
        for d, p in enumerate(probs.tolist())
    )
    return (
        f'<div role="img" aria-label="{t("cards.probability_of_each_digit")}" '
        f'style="display:flex;align-items:flex-end;gap:2px;height:135px">{bars}</div>'
    )
