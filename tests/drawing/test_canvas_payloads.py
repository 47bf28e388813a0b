"""Canvas exports a modified browser could send: refused cheaply, as the project's own error.

The payloads are decoded in a fresh process, whose peak memory (ru_maxrss) is the measure.
"""

import io
import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from harness import ROOT

CANVAS = 280


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        out.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def assemble(parts) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunk(k, d) for k, d in parts)


def drawing_png() -> bytes:
    a = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    a[60:220, 130:150] = 255  # a white bar: a one
    buf = io.BytesIO()
    Image.fromarray(a, "RGBA").save(buf, "PNG")
    return buf.getvalue()


def second_header() -> bytes:
    """A real 280x280 header, then one for 12000x12000 grey pixels and their zeros (140 KB)."""
    good = chunks(drawing_png())
    big = struct.pack(">IIBBBBB", 12000, 12000, 8, 0, 0, 0, 0)
    rows = zlib.compressobj(9)
    row = bytes(12001)
    data = b"".join(rows.compress(row) for _ in range(12000)) + rows.flush()
    return assemble([good[0], (b"IHDR", big), (b"IDAT", data), (b"IEND", b"")])


def bad_crc() -> bytes:
    png = bytearray(drawing_png())
    png[-20] ^= 0xFF  # inside the last IDAT's CRC or data: the CRC no longer matches
    return bytes(png)


def broken_zlib() -> bytes:
    parts = [(k, b"\x78\x9c" + bytes(range(256)) * 8 if k == b"IDAT" else d)
             for k, d in chunks(drawing_png())]  # fmt: skip
    return assemble(parts)


def huge_text() -> bytes:
    text = b"Comment\x00\x00" + zlib.compress(bytes(200 << 20), 9)  # 200 MB once inflated
    parts = chunks(drawing_png())
    return assemble([parts[0], (b"zTXt", text), *parts[1:]])


DECODE = """
import json, resource, sys
from mnist_demo.errors import DrawingError
from mnist_demo.drawing.canvas import decode_canvas_png
payloads = [open(p, "rb").read() for p in sys.argv[1:]]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
results = []
for png in payloads:
    try:
        results.append(list(decode_canvas_png(png, 280).shape))
    except DrawingError as e:
        results.append(str(e))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"results": results, "peak_mb": (peak - before) / 1024}))
"""


def test_crafted_canvas_pngs_are_refused_cheaply_as_drawing_errors(tmp_path):
    payloads = {
        "second IHDR": second_header(),
        "bad CRC": bad_crc(),
        "broken zlib": broken_zlib(),
        "huge text chunk": huge_text(),
        "a real drawing": drawing_png(),
    }
    assert all(len(p) < 2 << 20 for p in payloads.values())  # all pass the byte-size check
    files = []
    for i, png in enumerate(payloads.values()):
        files.append(tmp_path / f"{i}.png")
        files[-1].write_bytes(png)
    out = subprocess.run([sys.executable, "-c", DECODE, *files], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    got = dict(zip(payloads, report["results"]))
    assert got.pop("a real drawing") == [CANVAS, CANVAS, 4]
    assert all(isinstance(v, str) and v.startswith("the drawing") for v in got.values()), got
    assert "second header" in got["second IHDR"] and "bad CRC" in got["bad CRC"]
    assert "cannot be decoded" in got["broken zlib"] and "text" in got["huge text chunk"]
    assert report["peak_mb"] < 100, report


@pytest.mark.parametrize("payload", [b"", b"not a png at all", b"\x89PNG\r\n\x1a\n"])
def test_what_is_not_a_png_is_a_drawing_error(payload):
    from mnist_demo.drawing.canvas import decode_canvas_png
    from mnist_demo.errors import DrawingError

    with pytest.raises(DrawingError, match="the drawing"):
        decode_canvas_png(payload, CANVAS)
