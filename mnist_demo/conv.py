"""The CNN's second convolution while it trains: the same arithmetic, a faster backward pass.

On a CPU without AMX, oneDNN's forward convolution runs near the matrix-product peak, while its two
gradient kernels for the seed's conv2 (5x5, 32 -> 64 channels, 14x14) ran at half that: together
they were about 40% of a training step (measured on a 2-core AVX2 EPYC: forward 45 ms, input
gradient 90 ms, filter gradient 100 ms at batch 256). Both gradients are convolutions too:
  - the input's: the output's gradient convolved with the kernel flipped in space and with its
    channels swapped (exact for stride 1 and symmetric "same" padding);
  - the kernel's: the padded input, batch and channels swapped, convolved "valid" with the
    output's gradient as its kernel.
Both then run on the forward kernel: the step is about 10-15% faster. The weights are a plain
Conv2D's (same shapes, same names), so they move into the saved network with set_weights.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def conv2d_same(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """tf.nn.conv2d(x, kernel, 1, "SAME") for an odd square kernel, with the gradients above.
    x (n, h, w, c_in), kernel (k, k, c_in, c_out) -> (n, h, w, c_out)."""

    @tf.custom_gradient
    def conv(x, kernel):
        def grad(dy):
            return _input_gradient(dy, kernel), _kernel_gradient(x, dy, kernel.shape[0])

        return tf.nn.conv2d(x, kernel, 1, "SAME"), grad

    # Tensors, not variables, go in: the gradient is the kernel's, whatever holds it.
    return conv(tf.convert_to_tensor(x), tf.convert_to_tensor(kernel))


def _input_gradient(dy: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
    return tf.nn.conv2d(dy, flipped, 1, "SAME")


def _kernel_gradient(x: tf.Tensor, dy: tf.Tensor, k: int) -> tf.Tensor:
    p = k // 2
    padded = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
    # (c_in, h + 2p, w + 2p, n) convolved with (h, w, n, c_out) -> (c_in, k, k, c_out)
    out = tf.nn.conv2d(
        tf.transpose(padded, [3, 1, 2, 0]), tf.transpose(dy, [1, 2, 0, 3]), 1, "VALID"
    )
    return tf.transpose(out, [1, 2, 0, 3])


class TrainingConv2D(keras.layers.Conv2D):
    """A stride-1, "same"-padded Conv2D whose backward pass is conv2d_same's."""

    def convolution_op(self, inputs, kernel):
        return conv2d_same(inputs, kernel)
