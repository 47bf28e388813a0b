"""The CNN's training dense layer (dense.py): autodiff's gradients either way, the faster way
measured once, the weights a plain Dense layer's."""

import numpy as np
import pytest
import tensorflow as tf

import mnist_demo.nets.dense as dense
from mnist_demo.nets.dense import TrainingDense
from tests.nets.ways import count_measures, later


@pytest.mark.parametrize("transposed", [True, False])
def test_the_training_product_has_autodiffs_gradients(transposed, monkeypatch):
    monkeypatch.setattr(dense, "choose", lambda *shapes: transposed)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(6, 37)), tf.float32)
    kernel = tf.constant(rng.normal(size=(37, 11)), tf.float32)
    grads = []
    for way in (dense.matmul, tf.matmul):  # tf.matmul's own gradient: the reference
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            y = way(x, kernel)
            loss = tf.reduce_sum(tf.sin(y) * y)  # a gradient that differs at every output
        grads.append([g.numpy() for g in tape.gradient(loss, [x, kernel])])
    (dx, dk), (ref_dx, ref_dk) = grads
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-4, atol=1e-4 * np.abs(ref_dx).max())
    np.testing.assert_allclose(dk, ref_dk, rtol=1e-4, atol=1e-4 * np.abs(ref_dk).max())


def test_the_input_gradient_takes_the_faster_way_measured_once(monkeypatch):
    monkeypatch.setattr(dense, "_native_input_gradient", later(dense._native_input_gradient))
    calls = count_measures(dense, monkeypatch)
    shapes = ((8, 64), (64, 32), tf.float32)
    assert dense.choose(*shapes)  # the transposed product beat a native one 50 ms slower
    assert dense.choose(*shapes) and len(calls) == 1
    assert dense.choose((None, 64), (64, 32), tf.float32) is False
    assert len(calls) == 1  # an unknown batch is not measured: TensorFlow's own way


def test_a_training_dense_layer_is_a_plain_dense_layer():
    rng = np.random.default_rng(2)
    x = rng.random((5, 20), np.float32)
    trained = TrainingDense(7, activation="relu")
    trained.build((None, 20))
    trained.set_weights([rng.normal(size=(20, 7)), rng.normal(size=7)])
    reference = np.maximum(x @ trained.kernel.numpy() + trained.bias.numpy(), 0)
    np.testing.assert_allclose(trained(x), reference, rtol=1e-5, atol=1e-5)
