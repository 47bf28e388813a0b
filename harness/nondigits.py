"""Drawings that are not digits: letters from a font redrawn as pen strokes, scribbles and shapes.

Made independently of the project's code, like drawings.py: a 280x280 canvas, a round pen of
constant width, light ink on dark or dark ink on light. Letters whose shapes are also digits'
(O, I, l, S, Z, B, b, g, q, o, s, z, i) are left out: a network may call those digits honestly.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from harness.drawings import CANVAS, draw

LETTERS = "ACDEFHJKLMNPRTUVWXYacdefhkmnprtuvwxy"
SHAPES = ("square", "triangle", "star", "heart", "smiley", "hash", "dash", "plus", "arrow", "wave")


def glyph(letter: str) -> np.ndarray:
    """A letter as a (28, 28) uint8 image, light on dark, fitted into 20x20 like an MNIST digit."""
    font = ImageFont.load_default(size=160)
    im = Image.new("L", (240, 240), 0)
    ImageDraw.Draw(im).text((40, 10), letter, fill=255, font=font)
    box = im.getbbox()
    im = im.crop(box)
    scale = 20 / max(im.size)
    im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))))
    out = Image.new("L", (28, 28), 0)
    out.paste(im, ((28 - im.width) // 2, (28 - im.height) // 2))
    return np.asarray(out)


def letters(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    return [_polar(draw(glyph(LETTERS[i % len(LETTERS)]), rng), i) for i in range(n)]


def scribbles(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Random smooth strokes: a few loops and zigzags anywhere on the canvas."""
    out = []
    for i in range(n):
        k = rng.integers(4, 9)
        pts = rng.uniform(50, 230, size=(k, 2))
        t = np.linspace(0, 1, 120)
        curve = np.stack([np.interp(t * (k - 1), np.arange(k), pts[:, j]) for j in (0, 1)], 1)
        curve += 12 * np.sin(t[:, None] * rng.uniform(6, 20) + rng.uniform(0, 6, 2))
        out.append(_polar(_stroke([curve], rng), i))
    return out


def shapes(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    return [_polar(_stroke(_shape(SHAPES[i % len(SHAPES)], rng), rng), i) for i in range(n)]


def nondigit_set(n_each: int = 30, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """{"letters": [...], "scribbles": [...], "shapes": [...]}, n_each RGB drawings each."""
    rng = np.random.default_rng(seed)
    return {"letters": letters(rng, n_each), "scribbles": scribbles(rng, n_each),
            "shapes": shapes(rng, n_each)}  # fmt: skip


def _shape(name: str, rng: np.random.Generator) -> list[np.ndarray]:
    """The strokes of one shape, centred on the canvas at a random size."""
    c, r = rng.uniform(120, 160, 2), rng.uniform(55, 100)
    t = np.linspace(0, 2 * math.pi, 90)
    ring = np.stack([np.cos(t), np.sin(t)], 1)
    if name == "square":
        pts = [np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], float)]
    elif name == "triangle":
        pts = [np.array([[0, -1], [0.95, 0.8], [-0.95, 0.8], [0, -1]], float)]
    elif name == "star":
        a = np.arange(6) * 4 * math.pi / 5 - math.pi / 2
        pts = [np.stack([np.cos(a), np.sin(a)], 1)]
    elif name == "heart":
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        pts = [np.stack([x, y], 1) / 17]
    elif name == "smiley":
        mouth = np.linspace(0.2 * math.pi, 0.8 * math.pi, 30)
        pts = [ring, 0.5 * np.stack([np.cos(mouth), np.sin(mouth)], 1),
               np.array([[-0.35, -0.35], [-0.33, -0.3]]), np.array([[0.35, -0.35], [0.33, -0.3]])]  # fmt: skip
    elif name == "hash":
        pts = [np.array([[-0.4, -1], [-0.4, 1]]), np.array([[0.4, -1], [0.4, 1]]),
               np.array([[-1, -0.4], [1, -0.4]]), np.array([[-1, 0.4], [1, 0.4]])]  # fmt: skip
    elif name == "dash":
        pts = [np.array([[-1, 0], [1, 0]], float)]
    elif name == "plus":
        pts = [np.array([[-1, 0], [1, 0]], float), np.array([[0, -1], [0, 1]], float)]
    elif name == "arrow":
        pts = [np.array([[-1, 0], [1, 0]], float), np.array([[0.5, -0.5], [1, 0], [0.5, 0.5]])]
    else:  # wave
        x = np.linspace(-1, 1, 60)
        pts = [np.stack([x, 0.35 * np.sin(x * 3 * math.pi)], 1)]
    return [c + r * p for p in pts]


def _stroke(lines: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """(x, y) polylines drawn with a round pen on a black canvas, light ink."""
    pen = rng.uniform(12, 28)
    im = Image.new("RGB", (CANVAS, CANVAS), (0, 0, 0))
    dr = ImageDraw.Draw(im)
    for line in lines:
        line = np.clip(line, pen, CANVAS - pen)
        dr.line([tuple(p) for p in line], fill=(255, 255, 255), width=round(pen), joint="curve")
        for x, y in line[[0, -1]]:
            dr.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=(255,) * 3)
    return np.asarray(im)


def _polar(im: np.ndarray, i: int) -> np.ndarray:
    """Every other drawing dark ink on light, as a pen on paper would give."""
    return im if i % 2 == 0 else 255 - im
