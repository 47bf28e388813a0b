"""Confidence that means something: temperature scaling (Guo et al., 2017) and its measure.

A network trained to a low loss is often over- or under-confident: among the digits it reads
"99% sure", fewer or more than 99 in 100 are right. Temperature scaling divides the logits by one
number T, fitted to minimise the cross-entropy on digits the network never trained on (a held-out
part of the training set); it never changes which digit wins. Both networks end in a dense
`readout` layer followed by a softmax, so T is folded into the readout's weights: the calibrated
model is the same network, saved and loaded as any other.

The expected calibration error (ECE) sorts predictions into bins of confidence and averages
|accuracy - confidence| over the bins, weighted by their share of the predictions.
"""

from __future__ import annotations

import math

import numpy as np

from mnist_demo.data import BATCH

BINS = 15
T_RANGE = (0.05, 20.0)


def logits_of(model, x: np.ndarray) -> np.ndarray:
    """The readout layer's outputs (the softmax's inputs) for uint8 (n, 28, 28) images."""
    from mnist_demo.data import to_float
    from mnist_demo.nets.inside import scores_before_softmax

    batches = [
        scores_before_softmax(model, to_float(x[i : i + BATCH])).numpy()
        for i in range(0, len(x), BATCH)
    ]
    return np.concatenate(batches).astype(np.float64)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def nll(logits: np.ndarray, y: np.ndarray, t: float = 1.0) -> float:
    z = logits / t
    z = z - z.max(1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T in T_RANGE that minimises the cross-entropy of softmax(logits / T): a golden-section
    search on log T (the loss is convex in 1/T)."""
    y = np.asarray(y, dtype=np.int64)
    lo, hi = math.log(T_RANGE[0]), math.log(T_RANGE[1])
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(logits, y, math.exp(a)), nll(logits, y, math.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(logits, y, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(logits, y, math.exp(b))
    return math.exp((lo + hi) / 2)


def ece(probs: np.ndarray, y: np.ndarray, bins: int = BINS) -> float:
    """The expected calibration error of (n, 10) probabilities against labels, in [0, 1]."""
    conf = probs.max(1)
    right = probs.argmax(1) == np.asarray(y)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.mean() * abs(right[sel].mean() - conf[sel].mean())
    return float(total)


def apply_temperature(model, t: float) -> None:
    """Fold 1/T into the readout layer's weights: the model then answers softmax(logits / T)."""
    layer = model.get_layer("readout")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel / t, bias / t])


def calibrate(model, x_held: np.ndarray, y_held: np.ndarray) -> dict:
    """Fit T on held-out digits, fold it into `model`, and say what changed there."""
    z = logits_of(model, x_held)
    y = np.asarray(y_held, dtype=np.int64)
    t = fit_temperature(z, y)
    before, after = softmax(z), softmax(z / t)
    apply_temperature(model, t)
    return {
        "temperature": round(t, 4),
        "held_out": len(y),
        "nll_before": round(nll(z, y), 5),
        "nll_after": round(nll(z, y, t), 5),
        "ece_before": round(ece(before, y), 5),
        "ece_after": round(ece(after, y), 5),
    }
