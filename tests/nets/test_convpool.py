"""The training CNN's convolution-and-pooling layer (convpool.py): by 2x2 blocks of pixels or not,
the numbers and gradients of a plain convolution then max-pooling (TensorFlow's own kernels)."""

import numpy as np
import pytest
import tensorflow as tf

import mnist_demo.nets.convpool as convpool
from tests.nets.ways import count_measures, later


def plain(x, kernel):
    z = tf.nn.conv2d(x, kernel, 1, "SAME")
    return tf.nn.max_pool2d(z, 2, 2, "SAME")


def with_gradient(conv_pool, x, kernel, dy):
    with tf.GradientTape() as tape:
        tape.watch(kernel)
        y = conv_pool(x, kernel)
    return y, tape.gradient(y, kernel, output_gradients=dy)


@pytest.mark.parametrize("c_in", [1, 3])
def test_by_blocks_is_the_convolution_then_the_pooling(c_in):
    rng = np.random.default_rng(c_in)
    # Ink on blank paper: windows of equal values (all zero) whose gradient goes to one place.
    x = tf.constant((rng.random((4, 12, 10, c_in)) > 0.7).astype(np.float32))
    kernel = tf.constant(rng.normal(size=(5, 5, c_in, 8)).astype(np.float32))
    dy = tf.constant(rng.normal(size=(4, 6, 5, 8)).astype(np.float32))
    y, grad = with_gradient(convpool.conv_pool_by_blocks, x, kernel, dy)
    want_y, want_grad = with_gradient(plain, x, kernel, dy)
    np.testing.assert_allclose(y, want_y, atol=1e-5)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-5, atol=1e-4)


def test_the_faster_way_is_measured_once_and_only_for_one_input_channel(monkeypatch):
    calls = count_measures(convpool, monkeypatch)
    monkeypatch.setattr(
        convpool, "conv_pool_by_blocks", later(convpool.conv_pool_by_blocks)
    )  # 50 ms slower: it must lose
    shapes = ((4, 28, 28, 1), (5, 5, 1, 32), tf.float32)
    assert convpool.by_blocks(*shapes) is False
    assert convpool.by_blocks(*shapes) is False and len(calls) == 1
    assert convpool.by_blocks((4, 14, 14, 32), (5, 5, 32, 64), tf.float32) is False
    assert convpool.by_blocks((None, 28, 28, 1), (5, 5, 1, 32), tf.float32) is False
    assert len(calls) == 1  # neither many input channels nor an unknown batch is measured
