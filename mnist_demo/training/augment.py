"""Training-time augmentation: make MNIST digits look more like digits people draw.

Pen drawings differ from MNIST in stroke width, slant, size and position left after centring;
every batch gets random small affine transforms and thicker or thinner strokes.
"""

from __future__ import annotations

import math

import tensorflow as tf

MAX_ROTATION = math.radians(12)
SCALE_RANGE = (0.85, 1.1)
MAX_SHIFT = 2.0  # pixels; the centre of mass is centred, but a drawing's extent varies
MAX_SHEAR = 0.2
P_THICKER = 0.3
P_THINNER = 0.15


def augment_batch(images: tf.Tensor) -> tf.Tensor:
    """(n, 28, 28, 1) float32 in [0, 1] -> the same shape, randomly transformed per image."""
    images = _random_affine(images)
    return _random_stroke_width(images)


def _random_affine(images: tf.Tensor) -> tf.Tensor:
    n = tf.shape(images)[0]
    angle = tf.random.uniform([n], -MAX_ROTATION, MAX_ROTATION)
    scale = tf.random.uniform([n], *SCALE_RANGE)
    shear = tf.random.uniform([n], -MAX_SHEAR, MAX_SHEAR)
    tx = tf.random.uniform([n], -MAX_SHIFT, MAX_SHIFT)
    ty = tf.random.uniform([n], -MAX_SHIFT, MAX_SHIFT)
    # Output pixel (x, y) samples input at M^-1 ((x, y) - c - t) + c, with M = scale * rot * shear.
    # ImageProjectiveTransformV3 wants that inverse map as [a0 a1 a2 b0 b1 b2 0 0].
    cos, sin = tf.cos(angle), tf.sin(angle)
    # M = s * [[cos, -sin], [sin, cos]] @ [[1, k], [0, 1]]
    m00, m01 = scale * cos, scale * (cos * shear - sin)
    m10, m11 = scale * sin, scale * (sin * shear + cos)
    det = m00 * m11 - m01 * m10
    i00, i01, i10, i11 = m11 / det, -m01 / det, -m10 / det, m00 / det
    c = 13.5
    ox, oy = c + tx, c + ty
    a2 = c - i00 * ox - i01 * oy
    b2 = c - i10 * ox - i11 * oy
    zeros = tf.zeros([n])
    transforms = tf.stack([i00, i01, a2, i10, i11, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.constant([28, 28]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def _random_stroke_width(images: tf.Tensor) -> tf.Tensor:
    n = tf.shape(images)[0]
    thicker = window_max(images, 2)  # grey-level dilation by one pixel
    # A 3x3 dilation averaged with the original: half a pixel wider, as soft as MNIST's edges.
    thicker = 0.5 * (thicker + window_max(images, 3))
    # Erosion as a soft min: thin strokes fade, never vanish entirely (max with a faded original).
    thinner = tf.maximum(-window_max(-images, 2), 0.4 * images)
    u = tf.random.uniform([n, 1, 1, 1])
    out = tf.where(u < P_THICKER, thicker, images)
    return tf.where(u > 1.0 - P_THINNER, thinner, out)


def window_max(images: tf.Tensor, k: int) -> tf.Tensor:
    """tf.nn.max_pool2d(images, k, 1, "SAME"): each pixel's maximum over the k x k window TensorFlow
    places there (the padding never counts), as the maximum of shifted copies, rows then columns.
    TensorFlow's pooling kernel spent 5-10 ms per call on a batch of 128 one-channel digits on a
    2-core AVX2 EPYC, on the training's cores; this takes a fraction of a millisecond."""
    before = (k - 1) // 2
    pad = [[0, 0], [before, k - 1 - before], [before, k - 1 - before], [0, 0]]
    padded = tf.pad(images, pad, constant_values=float("-inf"))
    h, w = images.shape[1], images.shape[2]
    rows = padded[:, 0:h]
    for i in range(1, k):
        rows = tf.maximum(rows, padded[:, i : i + h])
    out = rows[:, :, 0:w]
    for j in range(1, k):
        out = tf.maximum(out, rows[:, :, j : j + w])
    return out
