"""A person's taught digits: kept as MNIST keeps its own, written to and read from a file.

The file is an .npz with `x`, uint8 (n, 28, 28), white digit on black as the app preprocessed
the drawings, and `y`, the digits 0-9. Reading one checks everything before anything is used:
its size, that it is an archive of plain arrays (no pickles), their shapes, types and labels.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np

from mnist_demo.errors import MnistDemoError

MAX_TAUGHT = 500  # digits a visitor keeps: a few hundred are plenty to learn a style
MAX_FILE_BYTES = 4 * 1024 * 1024  # an upload's size: 500 digits take 0.4 MB uncompressed
MAX_UNPACKED_BYTES = 8 * 1024 * 1024  # what its arrays may unpack to (no zip bombs)


class TaughtFileError(MnistDemoError):
    """A file of taught digits that cannot be used, and why."""


def as_uint8(x: np.ndarray) -> np.ndarray:
    """A preprocessed drawing, (28, 28) float in [0, 1] -> uint8 as MNIST stores its digits."""
    return np.clip(np.round(np.asarray(x, dtype=np.float32) * 255), 0, 255).astype(np.uint8)


def counts(y) -> list[int]:
    """How many of each digit 0-9."""
    return np.bincount(np.asarray(y, dtype=np.int64), minlength=10)[:10].tolist()


def to_npz(x: np.ndarray, y) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, x=np.asarray(x, np.uint8), y=np.asarray(y, np.uint8))
    return buf.getvalue()


def from_npz(data: bytes, name: str = "the file", limit: int = MAX_TAUGHT):
    """(x uint8 (n, 28, 28), y uint8 (n,)) from an .npz's bytes; TaughtFileError says what is
    wrong with anything else."""
    if len(data) > MAX_FILE_BYTES:
        raise TaughtFileError(
            f"{name} is {len(data) / 2**20:.1f} MB: at most {MAX_FILE_BYTES // 2**20} MB"
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise TaughtFileError(f"{name} is not an .npz file (a zip of NumPy arrays)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNPACKED_BYTES:
                raise TaughtFileError(
                    f"{name} unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB"
                )
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            if "x" not in f.files or "y" not in f.files:
                raise TaughtFileError(
                    f"{name} needs two arrays, x (the digits) and y (their "
                    f"labels); it has {', '.join(f.files) or 'none'}"
                )
            x, y = f["x"], f["y"]
    except TaughtFileError:
        raise
    except Exception as e:  # a truncated member, a pickled object, a bad header...
        raise TaughtFileError(f"{name} cannot be read as NumPy arrays ({type(e).__name__})") from e
    return _checked(x, y, name, limit)


def _checked(x: np.ndarray, y: np.ndarray, name: str, limit: int):
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise TaughtFileError(
            f"{name}: x must be uint8 digits of shape (n, 28, 28); it is {x.dtype} {x.shape}"
        )
    if y.ndim != 1 or len(y) != len(x):
        raise TaughtFileError(
            f"{name}: y must hold one label per digit ({len(x)}); it has shape {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise TaughtFileError(f"{name}: the labels in y must be whole numbers 0-9")
    if len(x) == 0:
        raise TaughtFileError(f"{name} holds no digits")
    if len(x) > limit:
        raise TaughtFileError(f"{name} holds {len(x)} digits: at most {limit}")
    return np.ascontiguousarray(x), y.astype(np.uint8)
