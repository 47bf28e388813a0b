"""Small pictures for the inside views: grids of feature maps, filters and heat maps as inline
PNGs in one HTML element each (no files to fetch, one message to the browser)."""

from __future__ import annotations

import base64
import io
from html import escape

import numpy as np
from PIL import Image

from studio.i18n import t

# Diverging colours for signed values (weights, attributions): blue below zero, red above.
NEGATIVE, POSITIVE = np.array([37, 99, 235]), np.array([220, 38, 38])


def png(rgb_or_grey: np.ndarray) -> str:
    """uint8 (h, w) or (h, w, 3) -> a PNG data URI."""
    buf = io.BytesIO()
    Image.fromarray(rgb_or_grey).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def grey(a: np.ndarray, top: float) -> np.ndarray:
    """Non-negative values on a shared scale: 0 black, `top` and above white."""
    return np.round(np.clip(a / top if top > 0 else a * 0, 0, 1) * 255).astype(np.uint8)


def signed(a: np.ndarray, top: float, under: np.ndarray | None = None) -> np.ndarray:
    """Signed values on a shared scale: red up, blue down, over white (or over a faint copy of
    `under`, a (h, w) image in [0, 1], so that the heat map sits on the digit it explains)."""
    t = np.clip(a / top if top > 0 else a * 0, -1, 1)[..., None]
    base = np.full((*a.shape, 3), 255.0)
    if under is not None:
        base -= 110 * np.clip(under, 0, 1)[..., None]
    colour = np.where(t > 0, POSITIVE, NEGATIVE)
    out = base * (1 - np.abs(t)) + colour * np.abs(t)
    return np.round(out).astype(np.uint8)


def grid(images: list[str], alts: list[str], size: int, columns: int, captions=None) -> str:
    """Data URIs shown `size` px wide, `columns` to a row, each with its alt text and title."""
    cells = []
    for i, (src, alt) in enumerate(zip(images, alts)):
        cap = (
            (f'<figcaption style="font-size:11px;color:#6b7280">{escape(captions[i])}</figcaption>')
            if captions
            else ""
        )
        cells.append(
            f'<figure style="margin:0;text-align:center" title="{escape(alt)}">'
            f'<img src="{src}" alt="{escape(alt)}" width="{size}" height="{size}" '
            f'style="image-rendering:pixelated;border-radius:2px;display:block">{cap}</figure>'
        )
    return (
        f'<div style="display:grid;grid-template-columns:repeat({columns},{size}px);gap:3px">'
        + "".join(cells)
        + "</div>"
    )


def maps_grid(maps: np.ndarray, layer: str, size: int, columns: int) -> str:
    """A layer's (h, w, channels) output as one grey picture per channel, on the layer's own
    scale: a dark map is a filter that did not respond to this drawing.

    One PNG for the whole layer (a mosaic, 1-pixel gaps) and an image map naming each picture
    ("conv1 map 7"): a page of 260 separate images took 4x longer to build and send."""
    h, w, n = maps.shape
    rows = -(-n // columns)
    top = float(maps.max())
    mosaic = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), 200, np.uint8)
    for c in range(n):
        r, k = divmod(c, columns)
        mosaic[r * (h + 1) : r * (h + 1) + h, k * (w + 1) : k * (w + 1) + w] = grey(
            maps[..., c], top
        )
    scale = size / w
    areas = []
    for c in range(n):
        r, k = divmod(c, columns)
        x0, y0 = round(k * (w + 1) * scale), round(r * (h + 1) * scale)
        name = escape(t("pictures.map", layer=layer, v2=c + 1))
        areas.append(
            f'<area shape="rect" coords="{x0},{y0},{x0 + size},{y0 + size}" '
            f'alt="{name}" title="{name}">'
        )
    width, height = round(mosaic.shape[1] * scale), round(mosaic.shape[0] * scale)
    return (
        f'<map name="{layer}-maps">{"".join(areas)}</map>'
        f'<img src="{png(mosaic)}" usemap="#{layer}-maps" alt="{escape(layer)}: {n} feature maps" '
        f'width="{width}" height="{height}" style="image-rendering:pixelated;display:block">'
    )
