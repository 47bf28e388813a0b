"""A canvas export from the browser: PNG bytes that anyone with a modified browser can craft.

Every chunk is walked and its CRC checked before Pillow sees the bytes: one header, first, with a
size a canvas can have; little text. Then any error while decoding is the project's own
DrawingError, so that a crafted payload costs a few milliseconds and a clear refusal.
"""

from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image

from mnist_demo.errors import DrawingError, first_line

MAX_CANVAS_BYTES = 2 * 1024 * 1024  # a 1120x1120 RGBA drawing compresses far below this


def decode_canvas_png(png: bytes, canvas_size: int, max_scale: int = 4) -> np.ndarray:
    """A canvas export (PNG bytes) -> (H, W, 4) uint8, refused unread when larger than a canvas of
    `canvas_size` pixels could be (HiDPI screens export up to `max_scale` times larger).

    The bytes come from a browser, which anyone can modify: every chunk is walked and its CRC
    checked before Pillow sees them (one header, first; a size within the canvas; no large text
    chunks), and any error while decoding is a DrawingError."""
    limit = canvas_size * max_scale
    if len(png) > MAX_CANVAS_BYTES:
        raise DrawingError(f"the drawing is {len(png) >> 10} KB: larger than any canvas export")
    width, height = _png_size(png)
    if not (0 < width <= limit and 0 < height <= limit):
        raise DrawingError(f"the drawing is {width}x{height}: larger than the canvas allows")
    try:
        with Image.open(io.BytesIO(png), formats=["PNG"]) as im:
            if im.size != (width, height):
                raise DrawingError("the drawing's PNG contradicts its own header")
            return np.asarray(im.convert("RGBA"))
    except DrawingError:
        raise
    except (
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        zlib.error,
        Image.DecompressionBombError,
    ) as e:
        raise DrawingError(f"the drawing cannot be decoded ({first_line(e)})") from e


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_CHUNKS = 64 << 10  # a canvas export has none; a few KB of text would be harmless


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the one IHDR chunk of a PNG whose chunks are all whole, with correct
    CRCs and little text; DrawingError otherwise. Reads no pixel."""
    if png[:8] != PNG_SIGNATURE:
        raise DrawingError("the drawing is not a PNG image")
    pos, size, text, chunks = 8, None, 0, 0
    while pos < len(png):
        if pos + 12 > len(png):
            raise DrawingError("the drawing's PNG is truncated")
        length = int.from_bytes(png[pos : pos + 4], "big")
        kind = png[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(png):
            raise DrawingError("the drawing's PNG is truncated")
        data = png[pos + 8 : pos + 8 + length]
        if zlib.crc32(kind + data) != int.from_bytes(png[end - 4 : end], "big"):
            raise DrawingError(f"the drawing's PNG is damaged (bad CRC in {kind!r:.12})")
        if kind == b"IHDR":
            if chunks != 0 or length != 13:
                raise DrawingError("the drawing's PNG has a misplaced or second header")
            size = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
        elif chunks == 0:
            raise DrawingError("the drawing's PNG does not start with its header")
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            text += length
            if text > MAX_TEXT_CHUNKS:
                raise DrawingError("the drawing's PNG carries too much text to be a drawing")
        chunks += 1
        pos = end
        if kind == b"IEND":
            break
    if size is None:
        raise DrawingError("the drawing's PNG has no header")
    return size
