import numpy as np
import pytest

import mnist_demo.training.reporter as reporter
from mnist_demo.data import to_float
from mnist_demo.training.engine import train
from mnist_demo.training.losses import SmoothedCrossEntropy
from mnist_demo.training.recipes import get_recipe


def smoothed(p, y, e):
    """The label-smoothed cross-entropy, written out: target 1 - e + e/10 on the label, e/10
    on each other digit."""
    q = np.full(p.shape, e / p.shape[1])
    q[np.arange(len(y)), y] += 1 - e
    return float(-(q * np.log(p)).sum(1).mean())


def plain(p, y):
    return float(-np.log(p[np.arange(len(y)), y]).mean())


def test_the_smoothed_loss_is_the_formula():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 64)
    logits = rng.normal(size=(64, 10)) * 1.5
    logits[np.arange(64), y] += 4  # mostly sure of the right digit, as a trained network is
    p = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    for e in (0.0, 0.1, 0.3):
        got = float(SmoothedCrossEntropy(e)(y, p))
        assert got == pytest.approx(smoothed(p, y, e), rel=1e-4)
    assert smoothed(p, y, 0.1) > plain(p, y) + 0.1  # the two differ here: the check can fail


def test_a_smoothed_training_is_less_sure_and_its_curve_shows_the_plain_loss(small, monkeypatch):
    monkeypatch.setattr(reporter, "EMIT_INTERVAL_S", 0.0)  # a step event at every step
    recipe = get_recipe("mlp", "fast").with_(
        steps=60, epochs=None, batch_size=100, steps_per_execution=1, learning_rate=2e-3
    )
    x, y = small.x_train, small.y_train.astype(np.int64)
    sure, seen = {}, []
    for e in (0.0, 0.3):
        res = train(recipe.with_(label_smoothing=e), small, subscribers=[seen.append])
        p = np.clip(np.asarray(res.model(to_float(x), training=False)), 1e-7, 1)
        sure[e] = float(p.max(1).mean())
    # Trained towards 0.73 on the label, the network is less sure than one trained towards 1.
    assert sure[0.3] < sure[0.0] - 0.05
    # The last step's training loss is the plain cross-entropy, not the smoothed one.
    last = [ev for ev in seen if ev["kind"] == "step"][-1]["loss"]
    assert abs(last - plain(p, y)) < abs(last - smoothed(p, y, 0.3)) / 3
