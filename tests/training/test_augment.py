"""The drawing-like augmentation's pieces against TensorFlow's own kernels."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from mnist_demo.training.augment import augment_batch, window_max


@pytest.mark.parametrize("k", [2, 3])
def test_window_max_is_tensorflows_same_padded_max_pool(k):
    # Values of both signs, ink at the borders: the padding must never count, for max or min.
    x = tf.constant(np.random.default_rng(k).normal(size=(3, 28, 28, 1)).astype(np.float32))
    want = tf.nn.max_pool2d(x, k, 1, "SAME")
    np.testing.assert_array_equal(window_max(x, k), want)
    np.testing.assert_array_equal(-window_max(-x, k), -tf.nn.max_pool2d(-x, k, 1, "SAME"))


def test_augmented_digits_stay_digits_of_the_same_shape_and_range():
    x = np.zeros((64, 28, 28, 1), np.float32)
    x[:, 6:22, 12:16] = 1.0  # a 1, 16 pixels tall
    out = augment_batch(tf.constant(x)).numpy()
    assert out.shape == x.shape and out.min() >= 0.0 and out.max() <= 1.0
    ink = out.sum((1, 2, 3))
    assert (ink > 0.5 * x[0].sum()).all() and (ink < 2.0 * x[0].sum()).all()
    assert len({round(float(v), 3) for v in ink}) > 32  # each digit drawn its own way
