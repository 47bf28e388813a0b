"""The CNN's convolutions while they train: the same arithmetic, a faster backward pass.

On a CPU without AMX, oneDNN's forward convolution runs near the matrix-product peak, while its two
gradient kernels for the seed's conv2 (5x5, 32 -> 64 channels, 14x14) ran at half that: together
they were about 40% of a training step (measured on a 2-core AVX2 EPYC: forward 45 ms, input
gradient 90 ms, filter gradient 100 ms at batch 256). Both gradients are convolutions too:
  - the input's: the output's gradient convolved with the kernel flipped in space and with its
    channels swapped (exact for stride 1 and symmetric "same" padding);
  - the kernel's: the padded input, batch and channels swapped, convolved "valid" with the
    output's gradient as its kernel.
Both then run on the forward kernel: the step was about 10-15% faster there. On an Intel Xeon
(AVX2 kernels only, or AVX-512) TensorFlow's own gradient kernels are the faster ones (both
gradients 28 ms against 48 ms at batch 128), so each gradient is measured both ways, once per
shape and dtype in a process, the first time it is traced (about half a second; the kept-warm
training process does it before anyone presses Train), and the faster one is used. conv1 (one
input channel) gains most: its kernel gradient took 15-17 ms natively on the EPYC and 6 ms as a
forward convolution at batch 128; its input gradient is never needed. The weights are a plain
Conv2D's (same shapes, same names), so they move into the saved network with
set_weights.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mnist_demo.nets.timed import median_times, remembered

# (x's shape, kernel's shape, dtype) -> (input gradient as a forward conv?, kernel gradient as one?)
_CHOICES: dict[tuple, tuple[bool, bool]] = {}


def conv2d_same(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """tf.nn.conv2d(x, kernel, 1, "SAME") for an odd square kernel, with the gradients above.
    x (n, h, w, c_in), kernel (k, k, c_in, c_out) -> (n, h, w, c_out)."""

    @tf.custom_gradient
    def conv(x, kernel):
        def grad(dy):
            forward_input, forward_kernel = choose(x.shape, kernel.shape, x.dtype)
            dx = (
                _input_gradient(dy, kernel)
                if forward_input
                else _native_input_gradient(x, kernel, dy)
            )
            if forward_kernel:
                return dx, _kernel_gradient(x, dy, kernel.shape[0])
            return dx, _native_kernel_gradient(x, kernel, dy)

        return tf.nn.conv2d(x, kernel, 1, "SAME"), grad

    # Tensors, not variables, go in: the gradient is the kernel's, whatever holds it.
    return conv(tf.convert_to_tensor(x), tf.convert_to_tensor(kernel))


def choose(x_shape, kernel_shape, dtype) -> tuple[bool, bool]:
    """Which of the two gradients run as forward convolutions for these shapes on this CPU:
    each way timed (timed.median_times) on random tensors the first time."""
    key = (tuple(x_shape), tuple(kernel_shape), tf.as_dtype(dtype).name)
    return remembered(_CHOICES, key, lambda: _measure(*key[:2], tf.as_dtype(dtype)), (False, False))


def _measure(x_shape, kernel_shape, dtype) -> tuple[bool, bool]:
    x = tf.random.uniform(x_shape, dtype=dtype)
    kernel = tf.random.uniform(kernel_shape, dtype=dtype)
    dy = tf.random.uniform((*x_shape[:3], kernel_shape[3]), dtype=dtype)
    k = kernel_shape[0]
    best = median_times(
        {
            "input, forward": lambda: _input_gradient(dy, kernel),
            "input, native": lambda: _native_input_gradient(x, kernel, dy),
            "kernel, forward": lambda: _kernel_gradient(x, dy, k),
            "kernel, native": lambda: _native_kernel_gradient(x, kernel, dy),
        }
    )
    return (
        best["input, forward"] < best["input, native"],
        best["kernel, forward"] < best["kernel, native"],
    )


def _native_input_gradient(x: tf.Tensor, kernel: tf.Tensor, dy: tf.Tensor) -> tf.Tensor:
    return tf.raw_ops.Conv2DBackpropInput(
        input_sizes=tf.shape(x),
        filter=kernel,
        out_backprop=dy,
        strides=[1, 1, 1, 1],
        padding="SAME",
    )


def _native_kernel_gradient(x: tf.Tensor, kernel: tf.Tensor, dy: tf.Tensor) -> tf.Tensor:
    return tf.raw_ops.Conv2DBackpropFilter(
        input=x,
        filter_sizes=tf.shape(kernel),
        out_backprop=dy,
        strides=[1, 1, 1, 1],
        padding="SAME",
    )


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
