"""Pen drawings of MNIST digits, made independently of the project's code.

Each MNIST digit is upsampled, thresholded and reduced to its skeleton (scikit-image), then redrawn
on a 280x280 canvas with a round pen of constant width, at a random size and place: what a person
drawing that digit with a mouse produces.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from skimage.morphology import skeletonize

CANVAS = 280


def skeleton_points(digit: np.ndarray) -> np.ndarray:
    """(k, 2) float (y, x) of the digit's skeleton, in 28-pixel units."""
    big = np.asarray(
        Image.fromarray(digit).resize((112, 112), Image.Resampling.BILINEAR), dtype=np.float32
    )
    skel = skeletonize(big >= 128)
    ys, xs = np.nonzero(skel)
    return np.stack([ys, xs], axis=1) / 4.0


def draw(
    digit: np.ndarray,
    rng: np.random.Generator,
    *,
    polarity: str = "light-on-dark",
    rgba: bool = False,
    height: float | None = None,
    pen: float | None = None,
) -> np.ndarray:
    """One MNIST digit (28, 28) uint8 -> a (280, 280, 3|4) uint8 pen drawing of it."""
    pts = skeleton_points(digit)
    (y0, x0), (y1, x1) = pts.min(0), pts.max(0)
    h_box = max(y1 - y0, 1e-3)
    height = height if height is not None else rng.uniform(90, 250)
    pen = pen if pen is not None else rng.uniform(12, 28)
    s = height / h_box
    w_box = (x1 - x0) * s
    # Any place on the canvas that keeps the whole stroke visible.
    top = rng.uniform(pen / 2, max(pen / 2, CANVAS - height - pen / 2))
    left = rng.uniform(pen / 2, max(pen / 2, CANVAS - w_box - pen / 2))
    fg, bg = (255, 0) if polarity == "light-on-dark" else (0, 255)
    mode = "RGBA" if rgba else "RGB"
    im = Image.new(mode, (CANVAS, CANVAS), (0, 0, 0, 0) if rgba else (bg, bg, bg))
    dr = ImageDraw.Draw(im)
    r = pen / 2
    colour = (fg, fg, fg, 255) if rgba else (fg, fg, fg)
    for y, x in pts:
        cy, cx = top + (y - y0) * s, left + (x - x0) * s
        dr.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    return np.asarray(im)


def drawing_set(images, labels, n, seed=0, **kwargs):
    """n drawings (alternating polarities) and their labels from the first n MNIST test digits."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        pol = "light-on-dark" if i % 2 == 0 else "dark-on-light"
        out.append(draw(images[i], rng, polarity=pol, **kwargs))
    return out, np.asarray(labels[:n])
