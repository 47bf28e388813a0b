"""Handwriting styles MNIST rarely has, as pen strokes: an evaluation set made by hand.

Each style is a template of strokes on the 280x280 canvas, drawn the way people outside North
America often write: 1s with a long up-stroke (and a base), 7s with a crossbar, closed 4s and 4s
whose stem curves into the bar, 9s with a small head or a hooked tail, 5s in one stroke or two.
Plain 0, 2, 3, 6 and 8 keep a network that calls everything "1" from scoring. Every drawing is
a template under a random slant, rotation, size, place, wobble of its points and pen width, in
one of the two polarities. Made independently of the project's code, like drawings.py.
`python -m harness.styles` writes the set the tests keep (tests/data/handwriting_styles.json).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CANVAS = 280
SET_FILE = Path(__file__).resolve().parent.parent / "tests" / "data" / "handwriting_styles.json"


def _arc(cx, cy, rx, ry, start, end, n=20):
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(start, end, n)
    ]


# style -> (digit, strokes); y grows downwards, angles run clockwise from 3 o'clock.
# fmt: off
STYLES = {
    "1-upstroke": (1, [[(95, 115), (165, 45), (150, 240)]]),
    "1-upstroke-base": (1, [[(100, 110), (160, 45), (155, 235)], [(105, 238), (205, 238)]]),
    "7-crossbar": (7, [[(75, 55), (205, 55), (130, 240)], [(120, 145), (205, 145)]]),
    "7-crossbar-hook": (7, [[(70, 85), (78, 55), (205, 55), (150, 150), (135, 240)],
                            [(115, 150), (200, 150)]]),
    "4-closed": (4, [[(165, 45), (70, 170), (215, 170)], [(165, 45), (168, 240)]]),
    "4-curved-stem": (4, [[(95, 45)] + _arc(140, 110, 45, 55, 180, 0, 10),
                          [(185, 45), (185, 240)]]),
    "4-hooked-stem": (4, [[(95, 45), (92, 115)] + _arc(135, 115, 43, 45, 180, 20, 8),
                          [(180, 40), (182, 190)] + _arc(150, 190, 32, 45, 0, 130, 8)]),
    "9-small-head": (9, [_arc(150, 70, 30, 26, 0, 360, 20), [(180, 70), (172, 240)]]),
    "9-open-head": (9, [_arc(145, 85, 42, 38, -20, 300, 20) + [(187, 100), (175, 240)]]),
    "9-hooked-tail": (9, [_arc(140, 95, 52, 48, 0, 360, 24),
                          [(192, 95), (185, 200)] + _arc(150, 200, 35, 38, 0, 150, 8)]),
    "5-one-stroke": (5, [[(190, 50), (105, 50), (95, 130)] + _arc(130, 175, 68, 55, -120, 150, 18)]),
    "5-curled": (5, [[(185, 50), (110, 55), (100, 125)] + _arc(128, 170, 62, 55, -115, 215, 22)]),
    "5-two-strokes": (5, [[(100, 50), (92, 135)] + _arc(130, 178, 70, 58, -125, 145, 18),
                          [(102, 52), (200, 45)]]),
    "0": (0, [_arc(140, 140, 60, 95, -90, 270, 30)]),
    "2": (2, [_arc(140, 95, 58, 50, 190, 360, 14) + [(180, 150), (80, 232), (212, 232)]]),
    "3": (3, [_arc(135, 90, 55, 45, 210, 450, 18)[:-4] + _arc(135, 185, 62, 50, -90, 150, 18)]),
    "6": (6, [[(180, 45), (120, 110)] + _arc(140, 180, 55, 55, 200, 560, 26)]),
    "8": (8, [_arc(140, 90, 45, 45, 90, 450, 20) + _arc(140, 185, 55, 52, -90, 270, 22)]),
}
# fmt: on
PLAIN = ("0", "2", "3", "6", "8")


def jitter(strokes, rng: np.random.Generator):
    """The strokes under a random slant, rotation, size, place and wobble: one person's hand."""
    angle = math.radians(rng.uniform(-10, 10))
    shear = rng.uniform(-0.3, 0.15)
    sx, sy = rng.uniform(0.75, 1.1), rng.uniform(0.7, 1.05)
    cos, sin = math.cos(angle), math.sin(angle)
    shift = rng.uniform(-30, 30, 2)
    out = []
    for stroke in strokes:
        p = np.asarray(stroke, dtype=float) - 140
        wobble = rng.normal(0, 7, p.shape)
        if len(p) > 4:  # a hand wobbles smoothly along a curve
            wobble = np.apply_along_axis(np.convolve, 0, wobble, np.ones(5) / 5, mode="same")
        p = p + wobble
        x, y = p[:, 0] * sx + shear * p[:, 1] * sy, p[:, 1] * sy
        p = np.stack([cos * x - sin * y, sin * x + cos * y], 1) + 140 + shift
        out.append(np.clip(p, 12, CANVAS - 12).round(1).tolist())
    return out


def render(strokes, pen: float, polarity: str) -> np.ndarray:
    """Strokes -> a (280, 280, 3) uint8 drawing, a round pen of constant width."""
    fg, bg = (255, 0) if polarity == "light-on-dark" else (0, 255)
    im = Image.new("RGB", (CANVAS, CANVAS), (bg, bg, bg))
    dr = ImageDraw.Draw(im)
    r = pen / 2
    for stroke in strokes:
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:] or stroke):
            n = max(1, int(math.hypot(x1 - x0, y1 - y0) / 2))
            for t in np.linspace(0, 1, n + 1):
                cx, cy = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
                dr.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(fg, fg, fg))
    return np.asarray(im)


def make_set(n_style: int = 50, n_plain: int = 12, seed: int = 0) -> list[dict]:
    """The evaluation set as records: style, label, strokes, pen width and polarity."""
    rng = np.random.default_rng(seed)
    records = []
    for style, (digit, strokes) in STYLES.items():
        for i in range(n_plain if style in PLAIN else n_style):
            records.append({
                "style": style, "label": digit, "strokes": jitter(strokes, rng),
                "pen": round(float(rng.uniform(12, 28)), 1),
                "polarity": "light-on-dark" if i % 2 == 0 else "dark-on-light",
            })  # fmt: skip
    return records


def mirrored(digits, n_each: int, seed: int = 0):
    """Mirror-written digits, as children learning to write make them: n_each drawings of each
    of `digits` (both polarities), and their labels."""
    rng = np.random.default_rng(seed)
    plain = {3: "3", 4: "4-closed", 7: "7-crossbar", 2: "2", 9: "9-hooked-tail", 6: "6"}
    images, labels = [], []
    for i in range(n_each):
        for d in digits:
            strokes = [[(CANVAS - x, y) for x, y in s] for s in STYLES[plain[d]][1]]
            pol = "light-on-dark" if (i + d) % 2 == 0 else "dark-on-light"
            images.append(render(jitter(strokes, rng), rng.uniform(12, 28), pol))
            labels.append(d)
    return images, np.array(labels)


def load_set(path: Path = SET_FILE) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """The kept set, rendered: drawings, labels, styles."""
    records = json.loads(path.read_text())
    images = [render(r["strokes"], r["pen"], r["polarity"]) for r in records]
    return images, np.array([r["label"] for r in records]), [r["style"] for r in records]


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else SET_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(make_set(), separators=(",", ":")))
    print(f"wrote {out}")
