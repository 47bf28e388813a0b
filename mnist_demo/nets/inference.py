"""One place for prediction: a single drawing (compiled, kept warm while people draw) and batches.

`model.predict` costs about 70 ms a call here (benchmarks/results.json). A tf.function with a
fixed (1, 28, 28, 1) float32 signature traces once and then costs about what the arithmetic does;
compiled by XLA into one fused CPU program it is faster again for the CNN (1.1 instead of 1.3 ms).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import tensorflow as tf

from mnist_demo.data import BATCH, to_float
from mnist_demo.memory import give_back_memory
from mnist_demo.nets.models import INPUT_SHAPE

_SPEC = tf.TensorSpec((1, *INPUT_SHAPE), tf.float32)


class Predictor:
    """Wraps a Keras model for read-only use from any thread: probabilities for one 28x28 input."""

    def __init__(self, model, xla: bool = True):
        """`xla=False` for a short-lived model: each XLA compilation leaves about 2 MB in
        TensorFlow's caches for good, to save 0.2 ms a prediction."""
        self.model = model
        self._one = _compile(model, xla)

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """(28, 28) float32 in [0, 1] -> (10,) float32 probabilities."""
        x = tf.constant(np.asarray(image, np.float32).reshape(_SPEC.shape))
        return self._one(x).numpy()[0]


def _compile(model, xla: bool):
    """The model's inference as a concrete function (no per-call signature matching), compiled
    and run once now so that the first drawing does not pay for it. Plain graph mode where XLA
    cannot compile it."""

    def trace(jit: bool):
        return tf.function(
            lambda x: model(x, training=False), input_signature=[_SPEC], jit_compile=jit
        ).get_concrete_function()

    fn = trace(xla)
    try:
        fn(tf.zeros(_SPEC.shape))
    except (tf.errors.OpError, NotImplementedError):
        fn = trace(False)
    return fn


def batch_function(model):
    """The model's inference for any number of float32 (n, 28, 28, 1) inputs, traced now.

    Evaluating 10,000 digits through the eager Keras call costs 0.3-0.5 s more than the
    arithmetic (the MLP here); a training's final evaluation uses this, traced before it starts."""
    spec = tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)
    fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    fn = fn.get_concrete_function()
    fn(tf.zeros((1, *INPUT_SHAPE)))
    return fn


def predict_probs(model, x: np.ndarray, batch: int = BATCH, progress=None) -> np.ndarray:
    """(n, 10) float32 probabilities for uint8 (n, 28, 28) MNIST images or float32 (n, 28, 28)
    or (n, 28, 28, 1) inputs in [0, 1], from a Keras model or a `batch_function`.
    `progress(done, total)` after each batch, if given."""
    call = model if isinstance(model, tf.types.experimental.ConcreteFunction) else None
    out = []
    for i in range(0, len(x), batch):
        chunk = x[i : i + batch]
        chunk = to_float(chunk) if chunk.dtype == np.uint8 else chunk.reshape(-1, *INPUT_SHAPE)
        probs = call(tf.constant(chunk)) if call else model(chunk, training=False)
        out.append(np.asarray(probs, dtype=np.float32))
        if progress is not None:
            progress(min(i + batch, len(x)), len(x))
    return np.concatenate(out) if out else np.zeros((0, 10), np.float32)


def evaluate(model, x: np.ndarray, y: np.ndarray, progress=None) -> tuple[float, float]:
    """(loss, accuracy) of `model` on uint8 images (n, 28, 28) and labels (n,), in large batches;
    `progress(done, total)` after each batch, if given."""
    return loss_and_accuracy(predict_probs(model, x, progress=progress), y)


def loss_and_accuracy(probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of probabilities (n, 10) against labels (n,)."""
    p = np.clip(probs[np.arange(len(y)), np.asarray(y, np.int64)], 1e-7, 1.0)
    return float(-np.log(p).mean()), float((probs.argmax(1) == y).mean())


class KeepWarm:
    """Keeps the predictors someone is drawing for ready to answer.

    On a shared virtual machine a process that sat idle for a second finds its memory and caches
    cold: measured here, a CNN prediction after 1 s of idling took 17 ms instead of 1.3 ms, and
    preprocessing 15 ms instead of 0.8 ms. People pause between strokes for about that long. While
    someone draws, a background thread runs each predictor they use on a blank input a few times a
    second (about 1% of one core), and lets go of it a minute after its last use. A predictor
    used in the last period needs no warming: a class drawing at once keeps it busy.
    """

    PERIOD_S = 0.2
    KEEP_S = 60.0
    _BLANK = np.zeros(INPUT_SHAPE[:2], np.float32)

    def __init__(self, period_s: float = PERIOD_S, keep_s: float = KEEP_S):
        self.period_s, self.keep_s = period_s, keep_s
        self._lock = threading.Lock()
        self._predictors: dict[int, tuple[Predictor, float]] = {}  # id -> (predictor, until)
        self._used: dict[int, float] = {}  # id -> when someone's drawing last used it
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="keep-warm", daemon=True).start()

    def touch(self, predictors) -> None:
        """These predictors were just used: keep them warm for the next `keep_s` seconds."""
        now = time.monotonic()
        with self._lock:
            for p in predictors:
                self._predictors[id(p)] = (p, now + self.keep_s)
                self._used[id(p)] = now
        self._wake.set()

    def warm(self) -> int:
        """Predictors being kept warm now."""
        with self._lock:
            return len(self._predictors)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            now = time.monotonic()
            with self._lock:
                gone = [k for k, (_, until) in self._predictors.items() if until < now]
                for key in gone:
                    del self._predictors[key]  # also lets go of a discarded model
                    self._used.pop(key, None)
                # Drawings that keep a predictor busy keep it warm: no warm-up for those (with
                # a class drawing, this thread would only take the server's CPU from them).
                busy = {k for k, t in self._used.items() if now - t < self.period_s}
                due = [p for k, (p, _) in self._predictors.items() if k not in busy]
                if not self._predictors:
                    self._wake.clear()
            if gone:  # a discarded model is reference cycles: only a full collection frees it
                give_back_memory()
            for p in due:
                try:
                    p.probabilities(self._BLANK)
                except Exception:  # a model being replaced: the next drawing reports real errors
                    pass
            time.sleep(self.period_s)
