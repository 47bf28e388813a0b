"""The CNN's convolutions with their 2x2 max-pooling, as one layer while it trains.

Pooled first, then the bias and relu: on a quarter of the values, with the same numbers and
gradients as the convolution, relu and pooling one after the other. And conv1 (one input channel),
whose convolution oneDNN runs at about 12 GFLOP/s on a 2-core AVX2 EPYC, may run on 2x2 blocks
of pixels instead, with 4 input and 128 output channels (conv_pool_by_blocks): measured against
the plain way once per shape in a process, as conv.py measures its gradients. On that EPYC its
forward pass and kernel gradient took about a third less time.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from mnist_demo.nets.conv import TrainingConv2D, conv2d_same
from mnist_demo.nets.pool import max_of_quarters, max_pool_2x2
from mnist_demo.nets.timed import median_times, remembered


def conv_pool_by_blocks(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """max_pool_2x2(conv2d_same(x, kernel)) for a 5x5 kernel, computed on 2x2 blocks of pixels.

    Each 2x2 block of x becomes one pixel with 4x the channels (space_to_depth), and the 5x5
    kernel a 3x3 kernel from those 4 c_in channels to the block's 4 outputs (row u, column v) x
    c_out: the same sums, with zeros where a block's 6x6 reach exceeds an output's 5x5. For one
    input channel (conv1) oneDNN's convolution is slow (about 12 GFLOP/s on a 2-core AVX2
    EPYC), while 4 in and 128 out keep it busy; the 2x2 pooling is then a maximum over four
    contiguous quarters of the channels (pool.max_of_quarters). x (n, h, w, c_in), h and w even
    -> (n, h / 2, w / 2, c_out)."""
    z = conv2d_same(tf.nn.space_to_depth(x, 2), _block_kernel(kernel))
    return max_of_quarters(z)


def _block_kernel(kernel: tf.Tensor) -> tf.Tensor:
    """(5, 5, c_in, c_out) -> (3, 3, 4 c_in, 4 c_out): the block kernel's weight at block offset
    (A, B), input pixel (p, q) of its block, output pixel (u, v) is the kernel's at (2A + p - u,
    2B + q - v), or 0 outside it. A gather, so that its gradient sums back into the kernel."""
    _, _, c_in, c_out = kernel.shape
    flat = tf.reshape(kernel, (25, c_in, c_out))
    padded = tf.concat([flat, tf.zeros((1, c_in, c_out), kernel.dtype)], 0)  # index 25: zero
    blocks = tf.gather(padded, _BLOCK_INDEX)  # (A, B, p, q, u, v, c_in, c_out)
    blocks = tf.transpose(blocks, [0, 1, 2, 3, 6, 4, 5, 7])  # (A, B, p, q, c_in, u, v, c_out)
    return tf.reshape(blocks, (3, 3, 4 * c_in, 4 * c_out))


def _block_index() -> np.ndarray:
    index = np.full((3, 3, 2, 2, 2, 2), 25, np.int32)
    for a, b, p, q, u, v in np.ndindex(3, 3, 2, 2, 2, 2):
        row, col = 2 * a + p - u, 2 * b + q - v
        if 0 <= row < 5 and 0 <= col < 5:
            index[a, b, p, q, u, v] = row * 5 + col
    return index


_BLOCK_INDEX = _block_index()


def by_blocks(x_shape, kernel_shape, dtype) -> bool:
    """True when conv_pool_by_blocks beats the convolution then the pooling, forward and kernel
    gradient together, for these shapes on this CPU (one input channel and a 5x5 kernel only)."""
    if tuple(kernel_shape)[:3] != (5, 5, 1) or x_shape[1] % 2 or x_shape[2] % 2:
        return False
    key = (tuple(x_shape), tuple(kernel_shape), tf.as_dtype(dtype).name)
    return remembered(_CHOICES, key, lambda: _measure(*key[:2], tf.as_dtype(dtype)), False)


_CHOICES: dict[tuple, bool] = {}


def _measure(x_shape, kernel_shape, dtype) -> bool:
    x = tf.random.uniform(x_shape, dtype=dtype)
    kernel = tf.random.uniform(kernel_shape, dtype=dtype)
    n, h, w, _ = x_shape
    dy = tf.random.uniform((n, h // 2, w // 2, kernel_shape[3]), dtype=dtype)

    def way(conv_pool):
        def forward_and_gradient():
            # The graph's own gradient (median_times traces this): a tape records nothing
            # while Keras is calling a layer.
            weights = tf.identity(kernel)
            return tf.gradients(conv_pool(x, weights), weights, grad_ys=dy)[0]

        return forward_and_gradient

    best = median_times(
        {
            "blocks": way(conv_pool_by_blocks),
            "conv, pool": way(lambda x, k: max_pool_2x2(conv2d_same(x, k))),
        }
    )
    return best["blocks"] < best["conv, pool"]


class TrainingConvPool(TrainingConv2D):
    """A stride-1, "same"-padded Conv2D with relu, and the 2x2 max-pooling after it, as one
    layer: max-pooled first, then the bias and relu, on a quarter of the values. The two orders
    give the same numbers (adding a channel's bias and relu are monotone, so they commute with a
    maximum), and the same gradients: each window's goes to its first maximum either way, and to
    nothing where relu cuts it. One input channel (conv1) may go by blocks (conv_pool_by_blocks)
    where that is faster. Its weights are the Conv2D's alone."""

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, padding="same", **kwargs)

    def call(self, inputs):
        if by_blocks(inputs.shape, self.kernel.shape, inputs.dtype):
            pooled = conv_pool_by_blocks(inputs, self.kernel)
        else:
            pooled = max_pool_2x2(self.convolution_op(inputs, self.kernel))
        return tf.nn.relu(tf.nn.bias_add(pooled, self.bias))

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        return (n, h // 2, w // 2, self.filters)
