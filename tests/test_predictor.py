"""The compiled single-image path gives what the Keras model itself computes."""

import numpy as np
import pytest

from mnist_demo.data import to_float
from mnist_demo.predictor import Predictor


@pytest.mark.parametrize("kind", ["cnn", "mlp"])
def test_compiled_prediction_equals_the_keras_model(kind, mnist, request):
    model = request.getfixturevalue(f"shipped_{kind}")
    predictor = Predictor(model)
    x = to_float(mnist.x_test[:50])
    want = np.asarray(model(x, training=False))  # Keras, eagerly, in one batch
    got = np.stack([predictor.probabilities(img[..., 0]) for img in x])
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert (got.argmax(1) == mnist.y_test[:50]).mean() >= 0.96
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)
