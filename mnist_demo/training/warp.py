"""Smooth distortions of whole digits: elastic warps (Simard et al., 2003) and loop sizes.

Handwriting differs from MNIST in more than slant and size: loops come bigger or smaller (a 9
with a small head, a 6 with a large belly), strokes bend. Each distorted image samples its input
at (x + dx, y + dy), with dx, dy a random field smoothed by a Gaussian (elastic) plus a vertical
shift that grows the top or the bottom half of the digit at the other's expense (loop sizes).
"""

from __future__ import annotations

import math

import tensorflow as tf

SIGMA = 4.0  # pixels: the smoothness of the elastic field
ALPHA = (8.0, 30.0)  # its strength, drawn per image
MAX_LOOP_SHIFT = 2.5  # pixels: how far the middle of a digit moves up or down
P_WARP = 0.5  # the share of images distorted


def random_warp(images: tf.Tensor) -> tf.Tensor:
    """(n, 28, 28, 1) float32 -> the same, P_WARP of them elastically distorted, with loops resized."""
    n = tf.shape(images)[0]
    field = tf.random.uniform([n, 28, 28, 2], -1.0, 1.0)
    kernel = _gaussian(SIGMA)
    k_row = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, 2, 1])
    k_col = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, 2, 1])
    field = tf.nn.depthwise_conv2d(field, k_row, [1, 1, 1, 1], "SAME")
    field = tf.nn.depthwise_conv2d(field, k_col, [1, 1, 1, 1], "SAME")
    field *= tf.random.uniform([n, 1, 1, 1], *ALPHA)
    rows = tf.range(28, dtype=tf.float32)
    bulge = tf.sin(math.pi * tf.clip_by_value((rows - 4.0) / 20.0, 0.0, 1.0))
    loop = tf.random.uniform([n, 1, 1], -MAX_LOOP_SHIFT, MAX_LOOP_SHIFT) * bulge[None, :, None]
    warped = sample(images, field[..., 0], field[..., 1] + loop)
    chosen = tf.random.uniform([n, 1, 1, 1]) < P_WARP
    return tf.where(chosen, warped, images)


def _gaussian(sigma: float) -> tf.Tensor:
    radius = int(3 * sigma)
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    k = tf.exp(-0.5 * (x / sigma) ** 2)
    return k / tf.reduce_sum(k)


def sample(images: tf.Tensor, dx: tf.Tensor, dy: tf.Tensor) -> tf.Tensor:
    """Bilinear sampling of (n, 28, 28, 1) images at (x + dx, y + dy); outside is blank."""
    n = tf.shape(images)[0]
    ys, xs = tf.meshgrid(tf.range(28.0), tf.range(28.0), indexing="ij")
    sx, sy = xs[None] + dx, ys[None] + dy
    x0, y0 = tf.floor(sx), tf.floor(sy)
    wx, wy = sx - x0, sy - y0
    padded = tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]])  # a blank border to clamp into
    batch = tf.broadcast_to(tf.range(n)[:, None, None], tf.shape(sx))

    def at(yy, xx):
        yy = tf.clip_by_value(tf.cast(yy, tf.int32) + 1, 0, 29)
        xx = tf.clip_by_value(tf.cast(xx, tf.int32) + 1, 0, 29)
        return tf.gather_nd(padded, tf.stack([batch, yy, xx], -1))

    out = (
        (1 - wx) * (1 - wy) * at(y0, x0)
        + wx * (1 - wy) * at(y0, x0 + 1)
        + (1 - wx) * wy * at(y0 + 1, x0)
        + wx * wy * at(y0 + 1, x0 + 1)
    )
    return out[..., None]
