"""The CNN's max-poolings while it trains: the same gradient, computed by quarters.

TensorFlow's MaxPoolGrad for the seed CNN's pool1 (2x2, stride 2, 28x28x32) took 13-18 ms at batch
128 on a 2-core AVX2 EPYC: as long as conv2's forward pass. Each 2x2 window's gradient goes to its
first maximum in row-major order, as MaxPoolGrad's does when a window holds equal values (blank
paper gives many); computed from the window's four quarters it took 12 ms. The faster way is
measured once per shape and dtype in a process (timed.median_times), as conv.py does. When conv1
runs on 2x2 blocks of pixels (convpool.py), its pooling is max_of_quarters: the same windows,
laid out as four contiguous quarters of the channels.
"""

from __future__ import annotations

import tensorflow as tf

from mnist_demo.nets.timed import median_times, remembered

# (x's shape, dtype) -> the gradient by quarters?
_CHOICES: dict[tuple, bool] = {}


def max_pool_2x2(x: tf.Tensor) -> tf.Tensor:
    """tf.nn.max_pool2d(x, 2, 2, "SAME") for even heights and widths, with the gradient the
    faster way here. x (n, h, w, c) -> (n, h / 2, w / 2, c)."""

    @tf.custom_gradient
    def pool(x):
        pooled = tf.nn.max_pool2d(x, 2, 2, "SAME")

        def grad(dy):
            if choose(x.shape, x.dtype):
                return _quarters_gradient(x, pooled, dy)
            return _native_gradient(x, pooled, dy)

        return pooled, grad

    return pool(tf.convert_to_tensor(x))


def choose(x_shape, dtype) -> bool:
    """True when the gradient by quarters beats MaxPoolGrad for this shape on this CPU."""
    key = (tuple(x_shape), tf.as_dtype(dtype).name)
    return remembered(_CHOICES, key, lambda: _measure(key[0], tf.as_dtype(dtype)), False)


def _measure(x_shape, dtype) -> bool:
    x = tf.random.uniform(x_shape, dtype=dtype)
    pooled = tf.nn.max_pool2d(x, 2, 2, "SAME")
    dy = tf.random.uniform(pooled.shape, dtype=dtype)
    best = median_times(
        {
            "quarters": lambda: _quarters_gradient(x, pooled, dy),
            "native": lambda: _native_gradient(x, pooled, dy),
        }
    )
    return best["quarters"] < best["native"]


def _native_gradient(x: tf.Tensor, pooled: tf.Tensor, dy: tf.Tensor) -> tf.Tensor:
    return tf.raw_ops.MaxPoolGrad(
        orig_input=x,
        orig_output=pooled,
        grad=dy,
        ksize=[1, 2, 2, 1],
        strides=[1, 2, 2, 1],
        padding="SAME",
    )


def _quarters_gradient(x: tf.Tensor, pooled: tf.Tensor, dy: tf.Tensor) -> tf.Tensor:
    _, h, w, c = x.shape
    windows = tf.reshape(x, (-1, h // 2, 2, w // 2, 2, c))
    quarters = [windows[:, :, i, :, j, :] for i in (0, 1) for j in (0, 1)]  # row-major
    parts = to_first_maximum(quarters, pooled, dy)
    rows = [tf.stack(parts[0:2], 3), tf.stack(parts[2:4], 3)]  # (n, h / 2, w / 2, 2, c)
    return tf.reshape(tf.stack(rows, 2), tf.shape(x))  # (n, h / 2, 2, w / 2, 2, c)


def to_first_maximum(quarters: list, top: tf.Tensor, dy: tf.Tensor) -> list:
    """Each quarter's share of the gradient `dy` of their maximum `top`: all of it where the
    quarter is the first (in the list's order) to hold the maximum, else nothing."""
    taken, parts = None, []  # taken: the maximum is already given to an earlier quarter
    for quarter in quarters:
        first = tf.equal(quarter, top)
        if taken is not None:
            first = tf.logical_and(first, tf.logical_not(taken))
        taken = first if taken is None else tf.logical_or(taken, first)
        parts.append(tf.where(first, dy, tf.zeros_like(dy)))
    return parts


def max_of_quarters(z: tf.Tensor) -> tf.Tensor:
    """The maximum over the last axis's four equal quarters: z (..., 4c) -> (..., c); each
    value's gradient goes to the first quarter holding the maximum. With a convolution's output
    laid out by 2x2 blocks (convpool.conv_pool_by_blocks: quarter (u, v) is the block's row u,
    column v), that is the 2x2 max-pooling with MaxPoolGrad's gradient, on contiguous slices."""

    @tf.custom_gradient
    def pooled(z):
        c = z.shape[-1] // 4
        quarters = [z[..., i * c : (i + 1) * c] for i in range(4)]
        top = tf.maximum(tf.maximum(quarters[0], quarters[1]), tf.maximum(quarters[2], quarters[3]))

        def grad(dy):
            return tf.concat(to_first_maximum(quarters, top, dy), -1)

        return top, grad

    return pooled(tf.convert_to_tensor(z))
