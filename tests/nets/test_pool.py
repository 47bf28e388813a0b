"""The CNN's training max-pooling (pool.py): MaxPoolGrad's gradient either way, ties included;
the faster way measured once."""

import numpy as np
import pytest
import tensorflow as tf

import mnist_demo.nets.pool as pool
from tests.nets.ways import count_measures, later


def reference_gradient(x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """2x2 windows written out in NumPy: each window's gradient to its first maximum, row-major."""
    out = np.zeros_like(x)
    n, h, w, c = x.shape
    for b, i, j, k in np.ndindex(n, h // 2, w // 2, c):
        window = x[b, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, k].ravel()
        di, dj = divmod(int(np.argmax(window)), 2)  # argmax: the first of equal maxima
        out[b, 2 * i + di, 2 * j + dj, k] = dy[b, i, j, k]
    return out


@pytest.mark.parametrize("quarters", [True, False])
def test_the_gradient_goes_to_each_windows_first_maximum(quarters, monkeypatch):
    monkeypatch.setattr(pool, "choose", lambda *shape: quarters)
    rng = np.random.default_rng(0)
    # Rounded values: many windows hold equal maxima, as blank paper does after a ReLU.
    x = np.maximum(np.round(rng.normal(size=(3, 8, 6, 4))), 0).astype(np.float32)
    dy = rng.normal(size=(3, 4, 3, 4)).astype(np.float32)
    x_t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        y = pool.max_pool_2x2(x_t)
    np.testing.assert_array_equal(y, x.reshape(3, 4, 2, 3, 2, 4).max(axis=(2, 4)))
    np.testing.assert_array_equal(
        tape.gradient(y, x_t, output_gradients=dy), reference_gradient(x, dy)
    )


def test_the_faster_way_is_measured_once(monkeypatch):
    monkeypatch.setattr(pool, "_native_gradient", later(pool._native_gradient))
    calls = count_measures(pool, monkeypatch)
    assert pool.choose((4, 28, 28, 8), tf.float32)  # quarters beat a native way 50 ms slower
    assert pool.choose((4, 28, 28, 8), tf.float32) and len(calls) == 1
    assert pool.choose((None, 28, 28, 8), tf.float32) is False
    assert len(calls) == 1  # an unknown batch is not measured: TensorFlow's own kernel
