"""Does a drawing look like a digit? A note for letters, scribbles and shapes, which the networks
read as digits with 90-99% confidence all the same.

No single signal separates them well at a low false-alarm rate (measured on pen drawings of MNIST
digits and on drawn letters, scribbles and shapes: each flags 0-60% of the non-digits when it
flags 1% of the digits; the networks' top probability is among the weakest). Five signals that
fail differently are combined: the energy of each shipped network's scores (how strongly it
believes in any class at all; Liu et al., 2020), the two networks' disagreement (total variation
between their answers), how far the image lies from MNIST's pixels (the residual after their 20
principal components) and how far the CNN's dense features lie from the nearest digit class
(Mahalanobis distance; Lee et al., 2018). Each becomes a p-value against the same signal on
held-out MNIST training digits and pen-like copies of them; a drawing is flagged when its
smallest p-value is below the level that flags 0.8% of those (pen drawings of MNIST digits
are flagged about twice as often as that: they are further from MNIST than its own digits). The detector always uses the shipped
networks: it judges the drawing, whichever model answers it.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from mnist_demo.data import BATCH, Mnist, to_float
from mnist_demo.errors import DataError, first_line
from mnist_demo.nets.calibrate import softmax as _softmax
from mnist_demo.nets.inside import scores_before_softmax as logits
from mnist_demo.nets.models import INPUT_SHAPE
from mnist_demo.storage.files import write_bytes_atomic, write_text_atomic

SIGNALS = ("cnn_energy", "mlp_energy", "disagreement", "pixel_residual", "feature_distance")
COMPONENTS = 20  # principal components of MNIST's pixels kept
FEATURES = 64  # principal components of the CNN's 1,024 dense features kept
FIT_DIGITS = 20_000  # training digits the components and class means come from
FALSE_ALARMS = 0.008  # the share of held-out MNIST digits (and of inked copies) flagged
CALIBRATION = 10_000  # the last training digits: never used to fit the components
INKED = 3_000  # ... and pen-like copies of the last of them
FILE = "unlike.npz"  # in the weights folder, beside the networks it was calibrated with
ARRAYS = (
    "pixel_mean",
    "pixel_basis",
    "feature_mean",
    "feature_basis",
    "class_means",
    "precision",
    "calibration",
    "alpha",
)


class UnlikeDigit:
    """Flags inputs unlike MNIST's digits. `flags(x)` for (n, 28, 28) float32 in [0, 1]."""

    def __init__(self, cnn, mlp, arrays: dict):
        self.a = {k: np.asarray(arrays[k], np.float32) for k in ARRAYS}
        self.calibration = np.sort(self.a["calibration"], axis=1)
        self.alpha = float(arrays["alpha"])
        self._read = _read_function(cnn, mlp)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """(n, 5) signals, larger = less like a digit, in SIGNALS' order."""
        x = np.asarray(x, np.float32).reshape(-1, *INPUT_SHAPE[:2])
        out = [self._scores(x[i : i + BATCH]) for i in range(0, len(x), BATCH)]
        return np.concatenate(out) if out else np.zeros((0, len(SIGNALS)), np.float32)

    def _scores(self, chunk: np.ndarray) -> np.ndarray:
        return self._signals(chunk)[0]

    def _signals(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scores, the CNN's probabilities, the MLP's), all from one call into TensorFlow."""
        a = self.a
        features, lc, lm = (t.numpy() for t in self._read(tf.constant(chunk[..., None])))
        pc, pm = _softmax(lc), _softmax(lm)
        flat = chunk.reshape(len(chunk), -1) - a["pixel_mean"]
        residual = flat - (flat @ a["pixel_basis"].T) @ a["pixel_basis"]
        z = (features - a["feature_mean"]) @ a["feature_basis"].T
        d = z[:, None, :] - a["class_means"][None]  # (n, 10, FEATURES)
        distance = ((d @ a["precision"]) * d).sum(-1).min(1)
        signals = [
            -_logsumexp(lc),
            -_logsumexp(lm),
            0.5 * np.abs(pc - pm).sum(1),
            np.sqrt((residual**2).sum(1)),
            distance,
        ]
        return np.stack(signals, 1), pc, pm

    def read(self, x: np.ndarray) -> tuple[bool, np.ndarray, np.ndarray]:
        """One (28, 28) input: whether it does not look like a digit, and the shipped CNN's and
        MLP's (10,) probabilities, read in the same call (a stroke needs all three)."""
        scores, pc, pm = self._signals(np.asarray(x, np.float32).reshape(1, *INPUT_SHAPE[:2]))
        return bool(self.p_values(scores).min(1)[0] < self.alpha), pc[0], pm[0]

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """The shipped CNN's (10,) probabilities, by the networks' call alone (inference.KeepWarm
        keeps the detector ready through this)."""
        chunk = np.asarray(x, np.float32).reshape(1, *INPUT_SHAPE)
        return _softmax(self._read(tf.constant(chunk))[1].numpy())[0]

    def p_values(self, scores: np.ndarray) -> np.ndarray:
        """(n, 5): the share of calibration digits scoring at least as high, per signal."""
        n = self.calibration.shape[1]
        above = [
            n - np.searchsorted(self.calibration[j], scores[:, j], side="left")
            for j in range(len(SIGNALS))
        ]
        return (np.stack(above, 1) + 1) / (n + 1)

    def flags(self, x: np.ndarray) -> np.ndarray:
        """(n,) bool: True where the input does not look like a digit."""
        return self.p_values(self.scores(x)).min(1) < self.alpha

    def unlike(self, x: np.ndarray) -> bool:
        """One (28, 28) input."""
        return bool(self.flags(x[None])[0])


def fit(cnn, mlp, data: Mnist, inked: np.ndarray) -> dict:
    """The detector's arrays: principal components and class statistics from the first
    FIT_DIGITS training digits, signals of the last CALIBRATION and of `inked` (pen-like copies
    of them, float32 (m, 28, 28)), and the level that flags FALSE_ALARMS of either."""
    x = to_float(data.x_train[:FIT_DIGITS])[..., 0]
    y = np.asarray(data.y_train[:FIT_DIGITS])
    flat = x.reshape(len(x), -1)
    arrays = {
        "pixel_mean": flat.mean(0),
        **_features_fit(cnn, x, y),
        "calibration": np.zeros((len(SIGNALS), 1), np.float32),
        "alpha": 0.0,
    }
    arrays["pixel_basis"] = np.linalg.svd(flat - flat.mean(0), full_matrices=False)[2][:COMPONENTS]
    probe = UnlikeDigit(cnn, mlp, arrays)
    held = probe.scores(to_float(data.x_train[-CALIBRATION:])[..., 0])
    pen = probe.scores(inked)
    arrays["calibration"] = np.concatenate([held, pen]).T.astype(np.float32)
    probe = UnlikeDigit(cnn, mlp, arrays)
    levels = [np.quantile(probe.p_values(s).min(1), FALSE_ALARMS) for s in (held, pen)]
    arrays["alpha"] = float(min(levels))
    return arrays


def _features_fit(cnn, x: np.ndarray, y: np.ndarray) -> dict:
    """A Gaussian per class with a shared covariance, over the CNN's dense features reduced to
    FEATURES principal components (Lee et al., 2018: the Mahalanobis distance to the nearest
    class mean)."""
    read = _read_function(cnn, cnn)
    f = np.concatenate(
        [read(tf.constant(x[i : i + BATCH, ..., None]))[0].numpy() for i in range(0, len(x), BATCH)]
    )
    mean = f.mean(0)
    basis = np.linalg.svd(f - mean, full_matrices=False)[2][:FEATURES]
    z = (f - mean) @ basis.T
    means = np.stack([z[y == c].mean(0) for c in range(10)])
    within = np.cov((z - means[y]).T) + 1e-6 * np.eye(FEATURES)
    return {
        "feature_mean": mean,
        "feature_basis": basis,
        "class_means": means,
        "precision": np.linalg.inv(within),
    }


def _read_function(cnn, mlp):
    """(the CNN's dense features, its scores before the softmax, the MLP's), for
    (n, 28, 28, 1), traced once."""

    def read(x):
        h = x
        for layer in cnn.layers[:-1]:
            h = layer(h, training=False)
            if layer.name == "fully_connected":
                features = h
        return tf.cast(features, tf.float32), tf.cast(h, tf.float32), logits(mlp, x)

    spec = tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)
    fn = tf.function(read, input_signature=[spec])
    fn(tf.zeros((1, *INPUT_SHAPE)))
    return fn


def save(arrays: dict, path: Path, record: dict) -> None:
    """The detector's arrays (npz) and a readable sidecar saying how they were made; atomic."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    write_bytes_atomic(path, buf.getvalue())
    write_text_atomic(path.with_suffix(".json"), json.dumps(record, indent=2) + "\n")


def load(cnn, mlp, path: Path, networks: dict | None = None) -> UnlikeDigit:
    """The detector saved at `path`; DataError naming the file if it is missing or not one, or
    if it was calibrated for other networks than `networks` ({"cnn": sha256, "mlp": sha256})."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ARRAYS}
            made_for = {k: str(z[f"{k}_sha256"]) for k in ("cnn", "mlp")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise DataError(f"{path.name}: not a detector file ({first_line(e)})") from None
    if arrays["pixel_basis"].shape != (COMPONENTS, 784) or arrays["calibration"].shape[0] != 5:
        raise DataError(f"{path.name}: arrays of the wrong shape")
    if networks is not None and made_for != networks:
        raise DataError(
            f"{path.name} was calibrated for other networks: run "
            "python -m mnist_demo calibrate-unlike"
        )
    return UnlikeDigit(cnn, mlp, arrays)


def _logsumexp(z: np.ndarray) -> np.ndarray:
    m = z.max(1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(1, keepdims=True)))[:, 0]


def inked(digits: np.ndarray) -> np.ndarray:
    """Pen-like copies of uint8 (n, 28, 28) MNIST digits: drawn 10x larger in ink of one
    weight (no grey edges) and read back the way a drawing is."""
    from PIL import Image

    from mnist_demo.drawing.preprocess import preprocess

    big = [Image.fromarray(d).resize((280, 280), Image.Resampling.BILINEAR) for d in digits]
    return np.stack([preprocess((np.asarray(b) >= 128).astype(np.uint8) * 255) for b in big])


def shipped_detector(weights_dir=None) -> UnlikeDigit:
    """The detector beside the shipped networks in the weights folder."""
    from mnist_demo.storage.archive import sha256_file
    from mnist_demo.storage.store import load_model, weights_root

    root = weights_root(weights_dir)
    networks = {k: sha256_file(root / f"{k}.keras") for k in ("cnn", "mlp")}
    return load(load_model("cnn", root), load_model("mlp", root), root / FILE, networks)
