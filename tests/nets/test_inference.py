"""Prediction: the compiled single-image path, batches, and keeping models warm."""

import time

import numpy as np
import pytest

from mnist_demo.data import to_float
from mnist_demo.nets.inference import KeepWarm, Predictor, predict_probs
from tests.serving.test_jobs import wait_until


@pytest.mark.parametrize("kind, xla", [("cnn", True), ("mlp", True), ("cnn", False)])
def test_compiled_prediction_equals_the_keras_model(kind, xla, mnist, request):
    model = request.getfixturevalue(f"shipped_{kind}")
    predictor = Predictor(model, xla=xla)
    x = to_float(mnist.x_test[:50])
    want = np.asarray(model(x, training=False))  # Keras, eagerly, in one batch
    got = np.stack([predictor.probabilities(img[..., 0]) for img in x])
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert (got.argmax(1) == mnist.y_test[:50]).mean() >= 0.96
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)


def test_batches_of_drawings_and_of_mnist_images_agree_with_the_model(shipped_mlp, mnist):
    x = mnist.x_test[:2500]  # more than one batch
    want = np.asarray(shipped_mlp(to_float(x), training=False))
    np.testing.assert_allclose(predict_probs(shipped_mlp, x), want, atol=1e-5)
    floats = x.astype(np.float32) / 255  # (n, 28, 28), as preprocess gives them
    np.testing.assert_allclose(predict_probs(shipped_mlp, floats, batch=700), want, atol=1e-5)
    assert predict_probs(shipped_mlp, x[:0]).shape == (0, 10)


class Counting:
    def __init__(self):
        self.n = 0

    def probabilities(self, image):
        assert image.shape == (28, 28)
        self.n += 1


def test_predictors_are_called_while_in_use_then_let_go():
    # States waited on, not slept to: the thread may be slow to run on a busy machine.
    warm = KeepWarm(period_s=0.01, keep_s=1.0)
    a, b = Counting(), Counting()
    assert warm.warm() == 0
    warm.touch([a, b])
    assert warm.warm() == 2
    wait_until(lambda: a.n >= 3 and b.n >= 3)
    wait_until(lambda: warm.warm() == 0)  # no touch for keep_s: let go
    n = a.n  # the thread's last call was before it let go of them
    time.sleep(0.1)
    assert a.n == n  # no longer called


def test_a_failing_predictor_does_not_stop_the_others():
    class Broken:
        def probabilities(self, image):
            raise RuntimeError("model being replaced")

    warm = KeepWarm(period_s=0.01, keep_s=60)
    good = Counting()
    warm.touch([Broken(), good])
    wait_until(lambda: good.n >= 3)
    assert warm.warm() == 2
