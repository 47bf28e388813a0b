"""MNIST: find it, load it, validate it.

Images stay uint8 in memory (47 MB for the whole set); they are scaled to [0, 1] one batch at a time.
"""

from __future__ import annotations

import gzip
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_demo import settings
from mnist_demo.errors import DataError, first_line

ENV_VAR = settings.MNIST_DATA.name
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
BATCH = 1000  # images per call when many are predicted or evaluated at once

# The four original files, as LeCun's site names them; a folder may hold them gzipped or not.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_FIX = f"set {ENV_VAR}=/path/to/mnist.npz (Keras layout) or to a folder with the four IDX files"


@dataclass(frozen=True)
class Mnist:
    """The MNIST set. Images (n, 28, 28) uint8 in [0, 255], white digit on black; labels (n,) uint8 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def head(self, n_train: int, n_test: int | None = None) -> Mnist:
        """The first n_train training and n_test test examples: small slices for quick runs and tests."""
        n_test = n_train if n_test is None else n_test
        return Mnist(
            self.x_train[:n_train],
            self.y_train[:n_train],
            self.x_test[:n_test],
            self.y_test[:n_test],
            f"{self.source} (first {n_train}/{n_test})",
        )


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> (n, 28, 28, 1) float32 in [0, 1], the input both models take."""
    return (images.astype(np.float32) / 255.0)[..., None]


def load_mnist(path: str | os.PathLike | None = None) -> Mnist:
    """Load MNIST from `path`, else from $MNIST_DATA, else from the Keras download (cached in ~/.keras).

    Raises DataError naming the path and the fix when the data is missing, corrupt or malformed.
    """
    if path is None:
        path = settings.MNIST_DATA.raw()
    if path is None:
        return _validate(_download(), "Keras download (~/.keras/datasets/mnist.npz)")
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"MNIST not found at {p}: {_FIX}, or unset {ENV_VAR} to download it")
    arrays = _read_idx_folder(p) if p.is_dir() else _read_npz(p)
    return _validate(arrays, str(p))


def _download() -> dict[str, np.ndarray]:
    from mnist_demo.tfimport import import_tensorflow_quietly

    import_tensorflow_quietly()  # its start-up chatter is not a message about MNIST
    try:
        from keras.datasets import mnist  # deferred: importing Keras costs seconds
    except ImportError as e:  # pragma: no cover - Keras is a hard requirement
        raise DataError(f"cannot import Keras to download MNIST ({e}); {_FIX}") from e
    try:
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    except Exception as e:  # a failed download surfaces as many exception types
        raise DataError(
            f"could not download MNIST ({type(e).__name__}: {first_line(e)}); offline? {_FIX}"
        ) from e
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _read_npz(p: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(p):
        raise DataError(f"{p} is not an .npz archive (expected Keras' mnist.npz layout): {_FIX}")
    try:
        with np.load(p, allow_pickle=False) as f:
            missing = [k for k in IDX_FILES if k not in f.files]
            if missing:
                raise DataError(
                    f"{p} lacks the arrays {', '.join(missing)} "
                    f"(expected x_train, y_train, x_test, y_test): {_FIX}"
                )
            return {k: f[k] for k in IDX_FILES}
    except DataError:
        raise
    except Exception as e:  # truncated member, bad CRC, pickled object...
        raise DataError(f"{p} is corrupt ({first_line(e)}): {_FIX}") from e


def _read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for key, stem in IDX_FILES.items():
        candidates = [folder / f"{stem}.gz", folder / stem, folder / stem.replace("-idx", ".idx")]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise DataError(f"{folder} has no {stem}[.gz]: {_FIX}")
        arrays[key] = _read_idx(found)
    return arrays


def _read_idx(p: Path) -> np.ndarray:
    """Read one IDX file (LeCun's format: magic, dims as big-endian int32, then uint8 data)."""
    try:
        raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{p} cannot be read ({first_line(e)}): {_FIX}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{p} is not an IDX file of unsigned bytes: {_FIX}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{p} is truncated (incomplete header): {_FIX}")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) - header != int(np.prod(shape)):
        raise DataError(
            f"{p} is truncated or padded: header says {shape}, found {len(raw) - header} bytes: {_FIX}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _validate(a: dict[str, np.ndarray], source: str) -> Mnist:
    for split in ("train", "test"):
        x, y = a[f"x_{split}"], a[f"y_{split}"]
        if x.size == 0 or y.size == 0:
            empty = " and ".join(f"{k}_{split}" for k, v in (("x", x), ("y", y)) if v.size == 0)
            raise DataError(
                f"{source}: {empty} {'are' if ' and ' in empty else 'is'} empty (no images): {_FIX}"
            )
        if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
            raise DataError(
                f"{source}: x_{split} has shape {x.shape}, expected (n, 28, 28): {_FIX}"
            )
        if y.shape != (x.shape[0],):
            raise DataError(
                f"{source}: y_{split} has shape {y.shape}, expected ({x.shape[0]},) to match x_{split}"
            )
        if x.dtype != np.uint8:
            raise DataError(f"{source}: x_{split} is {x.dtype}, expected uint8 pixels: {_FIX}")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= NUM_CLASSES:
            raise DataError(f"{source}: y_{split} must hold integer labels 0..9: {_FIX}")
    return Mnist(
        np.ascontiguousarray(a["x_train"]),
        a["y_train"].astype(np.uint8),
        np.ascontiguousarray(a["x_test"]),
        a["y_test"].astype(np.uint8),
        source,
    )
