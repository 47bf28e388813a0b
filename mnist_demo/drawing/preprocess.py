"""Any drawing or picture -> a 28x28 MNIST-style input, normalised the way MNIST itself was made.

MNIST digits were cropped to their ink, fitted into 20x20 keeping the aspect ratio, and centred by
centre of mass in 28x28. A pen drawing also differs in stroke width: a small digit drawn with a thick
pen turns into a blob once fitted into 20x20, so strokes are thinned or thickened first.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, UnidentifiedImageError

from mnist_demo.errors import BlankDrawing, DrawingError

MAX_PIXELS = 4096 * 4096  # refuse larger pictures before decoding them (decompression bombs)
MAX_FILE_BYTES = 20 * 1024 * 1024
FIT = 20  # MNIST fits the longer side of a digit into 20 pixels ...
SIZE = 28  # ... and centres it in 28x28
CENTRE = 14.0
WORK = 4 * FIT  # strokes are normalised at 4x the final resolution
# Stroke width as a fraction of the digit's longer side. MNIST digits measure 0.09-0.16 with the
# estimator below (10th-90th percentile, median 0.12). A drawing outside [MIN, MAX] is thinned or
# thickened to TARGET: on pen drawings of MNIST test digits 0.13 read best (98.4% vs 98.1% for
# no width change and 98.0% for 0.10, shipped CNN, 1,500 drawings).
TARGET_WIDTH = 0.13
MAX_WIDTH = 0.15
MIN_WIDTH = 0.10
INK_FLOOR = 0.15  # fainter than this (of the brightest ink) is paper texture or JPEG noise
MIN_INK_PIXELS = 4


def load_image(source: str | os.PathLike | bytes) -> np.ndarray:
    """Decode a PNG, JPEG (or any format Pillow reads) to a uint8 array (H, W), (H, W, 3) or (H, W, 4)."""
    name = "image" if isinstance(source, bytes) else str(source)
    try:
        if isinstance(source, bytes):
            if len(source) > MAX_FILE_BYTES:
                raise DrawingError(f"{name} is larger than {MAX_FILE_BYTES >> 20} MB")
            fp = io.BytesIO(source)
        else:
            p = Path(source)
            if p.is_dir():
                raise DrawingError(f"{name} is a directory")
            if not p.exists():
                raise DrawingError(f"{name}: no such file")
            if not p.is_file():
                raise DrawingError(f"{name} is not a regular file")
            if p.stat().st_size == 0:
                raise DrawingError(f"{name} is empty (0 bytes)")
            if p.stat().st_size > MAX_FILE_BYTES:
                raise DrawingError(f"{name} is larger than {MAX_FILE_BYTES >> 20} MB")
            fp = p.open("rb")
        with Image.open(fp) as im:
            if im.width * im.height > MAX_PIXELS:
                raise DrawingError(f"{name} is {im.width}x{im.height}: too large to be a drawing")
            im.load()
            if im.mode not in ("L", "RGB", "RGBA"):
                im = im.convert(
                    "RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB"
                )
            return np.asarray(im)
    except DrawingError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as e:
        raise DrawingError(f"{name} is not an image (no format Pillow reads)") from e
    except (OSError, ValueError, SyntaxError) as e:  # truncated or corrupt image data
        raise DrawingError(f"{name} cannot be decoded: {e}") from e


def ink_map(image: np.ndarray) -> np.ndarray:
    """(H, W[, 3|4]) uint8 or float -> (H, W) uint8 ink (0: none), whatever the polarity.

    Ink is read from alpha when the picture is transparent where nothing is drawn (a canvas
    export); otherwise from brightness, against the background colour found on the border.
    Everything stays uint8: a 280x280 drawing is 78,400 pixels and this runs on every stroke.
    """
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.clip(a * (255.0 if a.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 4:
        alpha = a[..., 3]
        if _border(alpha).mean() < 128:  # transparent background: strokes are the opaque part
            return alpha
        a = a[..., :3]
    if a.ndim == 3 and a.shape[2] == 3:
        # ITU-R 601-2 luma, L = 0.299 R + 0.587 G + 0.114 B, in Pillow's C code.
        lum = np.asarray(Image.fromarray(np.ascontiguousarray(a), "RGB").convert("L"))
    elif a.ndim == 2:
        lum = a
    else:
        raise DrawingError(f"expected an image (H, W), (H, W, 3) or (H, W, 4), got {a.shape}")
    bg = np.uint8(np.median(_border(lum)))
    if bg > 127:  # dark ink on light paper
        return bg - np.minimum(lum, bg)
    return np.maximum(lum, bg) - bg  # light ink on a dark background


def _border(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    k = max(1, min(h, w) // 20)
    return np.concatenate([a[:k].ravel(), a[-k:].ravel(), a[:, :k].ravel(), a[:, -k:].ravel()])


def preprocess(image: np.ndarray) -> np.ndarray:
    """A drawing or picture -> (28, 28) float32 in [0, 1], white digit on black, MNIST-style.

    Raises BlankDrawing (a DrawingError) when there is no ink.
    """
    ink = ink_map(image)
    peak = int(ink.max())
    floor = max(1, int(np.ceil(INK_FLOOR * peak)))
    strong = ink >= floor
    if peak == 0 or np.count_nonzero(strong) < MIN_INK_PIXELS:
        raise BlankDrawing("nothing drawn: draw a digit first", key="blank")
    rows, cols = np.flatnonzero(strong.any(axis=1)), np.flatnonzero(strong.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    # Ink relative to the strongest, as 0-255; fainter than the floor is nothing.
    crop = np.where(strong[box], ink[box].astype(np.float32) * (255.0 / peak), 0.0)
    crop = _normalise_strokes(crop.astype(np.uint8))
    return _centre(_fit(crop, FIT))


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width, in pixels, of the ink in a boolean mask: 2 * area / perimeter, corrected
    for the staircase of pixel edges along curves (which lengthens a perimeter by 4/pi on average)."""
    m = np.pad(mask, 1)
    edges = np.count_nonzero(m[1:] != m[:-1]) + np.count_nonzero(m[:, 1:] != m[:, :-1])
    return 0.0 if edges == 0 else 2.0 * np.count_nonzero(m) / edges * (4 / np.pi)


def _normalise_strokes(crop: np.ndarray) -> Image.Image:
    """Resize the ink box (uint8) so its longer side is WORK px, then thin or thicken strokes
    whose width is far from MNIST's."""
    h, w = crop.shape
    scale = WORK / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    im = Image.fromarray(crop).resize(size, Image.Resampling.BOX)
    width = stroke_width(np.asarray(im) >= 128) / WORK
    if width > MAX_WIDTH:
        passes = round((width - TARGET_WIDTH) * WORK / 2)  # each 3x3 min takes 1 px off each side
        im = _morph(im, ImageFilter.MinFilter(3), passes)
    elif 0 < width < MIN_WIDTH:
        passes = round((TARGET_WIDTH - width) * WORK / 2)
        im = _morph(im, ImageFilter.MaxFilter(3), passes)
    return im


def _morph(im: Image.Image, kernel: ImageFilter.Filter, passes: int) -> Image.Image:
    # Pad first so that dilation can grow past the box and erosion does not eat the border.
    pad = passes + 1
    canvas = Image.new("L", (im.width + 2 * pad, im.height + 2 * pad))
    canvas.paste(im, (pad, pad))
    for _ in range(passes):
        canvas = canvas.filter(kernel)
    box = canvas.getbbox()
    return canvas.crop(box) if box else canvas


def _fit(im: Image.Image, side: int) -> np.ndarray:
    """Scale so the longer side is `side` px, keeping the aspect ratio, with antialiasing.
    Returns float32 ink in [0, 1]."""
    scale = side / max(im.width, im.height)
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return np.asarray(im.resize(size, Image.Resampling.LANCZOS), dtype=np.float32) / 255.0


def _centre(digit: np.ndarray) -> np.ndarray:
    """Paste into 28x28 so that the centre of mass lands on the centre, as MNIST did."""
    h, w = digit.shape
    total = float(digit.sum())
    ys, xs = np.indices(digit.shape)
    cy = float((ys * digit).sum() / total) if total else (h - 1) / 2
    cx = float((xs * digit).sum() / total) if total else (w - 1) / 2
    # MNIST's centres of mass sit at pixel (14, 14) (measured: mean 13.99, 14.01 on the test set).
    top = int(np.clip(round(CENTRE - cy), 0, SIZE - h))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - w))
    out = np.zeros((SIZE, SIZE), np.float32)
    out[top : top + h, left : left + w] = digit
    return np.clip(out, 0.0, 1.0)
