"""The CNN's big dense layer while it trains: the same arithmetic, a faster input gradient.

The input's gradient of x @ W is dy @ W^T. On a 2-core AVX2 EPYC, TensorFlow's product with its
second matrix transposed took 32-37 ms for the seed CNN's 3136x1024 layer at batch 128, against
8 ms for the same numbers as (W @ dy^T)^T: a quarter of a training step. Which way is faster is
measured once per shape and dtype in a process (timed.median_times), the first time the step is
traced, as conv.py does; the weights are a plain Dense layer's.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mnist_demo.nets.timed import median_times, remembered

# (x's shape, kernel's shape, dtype) -> the input gradient as (W @ dy^T)^T?
_CHOICES: dict[tuple, bool] = {}


def matmul(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """x (n, i) @ kernel (i, o) -> (n, o), with the input gradient the faster way here."""

    @tf.custom_gradient
    def product(x, kernel):
        def grad(dy):
            if choose(x.shape, kernel.shape, x.dtype):
                dx = _input_gradient(dy, kernel)
            else:
                dx = _native_input_gradient(dy, kernel)
            return dx, tf.matmul(x, dy, transpose_a=True)

        return tf.matmul(x, kernel), grad

    return product(tf.convert_to_tensor(x), tf.convert_to_tensor(kernel))


def choose(x_shape, kernel_shape, dtype) -> bool:
    """True when (W @ dy^T)^T beats dy @ W^T for these shapes on this CPU."""
    key = (tuple(x_shape), tuple(kernel_shape), tf.as_dtype(dtype).name)
    return remembered(_CHOICES, key, lambda: _measure(*key[:2], tf.as_dtype(dtype)), False)


def _measure(x_shape, kernel_shape, dtype) -> bool:
    kernel = tf.random.uniform(kernel_shape, dtype=dtype)
    dy = tf.random.uniform((x_shape[0], kernel_shape[1]), dtype=dtype)
    best = median_times(
        {
            "transposed product": lambda: _input_gradient(dy, kernel),
            "native": lambda: _native_input_gradient(dy, kernel),
        }
    )
    return best["transposed product"] < best["native"]


def _native_input_gradient(dy: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    return tf.matmul(dy, kernel, transpose_b=True)


def _input_gradient(dy: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    return tf.transpose(tf.matmul(kernel, dy, transpose_b=True))


class TrainingDense(keras.layers.Dense):
    """A Dense layer whose product's backward pass is `matmul`'s (no LoRA, no quantization)."""

    def call(self, inputs, training=None):
        x = matmul(inputs, self.kernel)
        if self.bias is not None:
            x = x + self.bias
        if self.activation is not None:
            x = self.activation(x)
        return x
