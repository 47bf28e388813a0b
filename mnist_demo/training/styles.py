"""Handwriting styles MNIST rarely has, made from MNIST's own training digits.

MNIST was written by American writers: its 1s are a bare bar and its 7s have no crossbar, so a
network trained on it reads a European 1 (a long up-stroke into the top) as a 7. `restyle` gives
each training 1 an up-stroke (and sometimes a base), and each 7 a crossbar, drawn in the digit's
own stroke width at its own slant; warp.py varies loop sizes and adds elastic distortions. The
training recipe's `styles` setting mixes them in (training.py), half of the 1s and 7s at a time.
"""

from __future__ import annotations

import numpy as np

INK = 96  # a pixel at or above this is ink when measuring a digit


def restyle(x: np.ndarray, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """(n, 28, 28) uint8 digits and their labels -> a copy where every 1 has an up-stroke (a
    third of them a base too) and every 7 a crossbar; other digits are unchanged."""
    rng = np.random.default_rng(seed)
    out = np.array(x, dtype=np.uint8, copy=True)
    ones, sevens = np.flatnonzero(y == 1), np.flatnonzero(y == 7)
    for start in range(0, len(ones), 4096):
        idx = ones[start : start + 4096]
        out[idx] = _upstroke(out[idx], rng)
    for start in range(0, len(sevens), 4096):
        idx = sevens[start : start + 4096]
        out[idx] = _crossbar(out[idx], rng)
    return out


def _extent(images: np.ndarray):
    """Per image: top and bottom ink rows, the ink's centre column in its top and bottom rows,
    and its stroke width (ink area over height)."""
    ink = images >= INK
    rows = ink.any(2)
    top = rows.argmax(1)
    bottom = 27 - rows[:, ::-1].argmax(1)
    cols = np.arange(28)
    n = len(images)
    top_x = _centre(ink[np.arange(n), top], cols)
    bottom_x = _centre(ink[np.arange(n), bottom], cols)
    height = np.maximum(bottom - top, 1)
    width = np.clip(ink.sum((1, 2)) / height, 1.5, 4.0)
    return top.astype(float), bottom.astype(float), top_x, bottom_x, height, width


def _centre(row_ink: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return (row_ink * cols).sum(1) / np.maximum(row_ink.sum(1), 1)


def _upstroke(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    top, bottom, top_x, bottom_x, height, width = _extent(images)
    n = len(images)
    length = height * rng.uniform(0.28, 0.5, n)
    angle = np.radians(rng.uniform(28, 62, n))  # below the horizontal, towards the left
    end = np.stack([top_x - length * np.cos(angle), top + length * np.sin(angle)], 1)
    out = _line(images, np.stack([top_x, top], 1), end, width)
    base = rng.random(n) < 0.35
    half = height * rng.uniform(0.15, 0.28, n)
    left = np.stack([bottom_x - half, bottom], 1)
    right = np.stack([bottom_x + half, bottom + rng.uniform(-1, 1, n)], 1)
    with_base = _line(out, left, right, width)
    return np.where(base[:, None, None], with_base, out)


def _crossbar(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    top, bottom, _, _, height, width = _extent(images)
    n = len(images)
    row = np.clip(np.round(top + height * rng.uniform(0.42, 0.6, n)), 0, 27).astype(int)
    ink = images[np.arange(n), row] >= INK
    stem = _centre(ink, np.arange(28))
    half = height * rng.uniform(0.16, 0.27, n)
    tilt = rng.uniform(-0.12, 0.12, n) * half
    left = np.stack([stem - half * rng.uniform(0.8, 1.2, n), row - tilt], 1)
    right = np.stack([stem + half, row + tilt], 1)
    drawn = _line(images, left, right, width)
    return np.where(ink.any(1)[:, None, None], drawn, images)


def _line(images, p0, p1, width) -> np.ndarray:
    """Each image with an anti-aliased line from p0 to p1 ((n, 2) as x, y) of `width` pixels,
    as bright as the image's own ink."""
    ys, xs = np.mgrid[0:28, 0:28].astype(float)
    d = p1 - p0
    length2 = np.maximum((d**2).sum(1), 1e-6)[:, None, None]
    t = (
        (xs - p0[:, 0, None, None]) * d[:, 0, None, None]
        + (ys - p0[:, 1, None, None]) * d[:, 1, None, None]
    ) / length2
    t = np.clip(t, 0, 1)
    dx = xs - (p0[:, 0, None, None] + t * d[:, 0, None, None])
    dy = ys - (p0[:, 1, None, None] + t * d[:, 1, None, None])
    dist = np.sqrt(dx**2 + dy**2)
    alpha = np.clip(width[:, None, None] / 2 + 0.5 - dist, 0, 1)
    peak = images.reshape(len(images), -1).max(1).astype(float)[:, None, None]
    return np.maximum(images, (alpha * peak).round().astype(np.uint8))
