"""Inside the networks: layer outputs against NumPy, integrated gradients against a numerical
reference, the summaries' parameter counts."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_demo.errors import MnistDemoError
from mnist_demo.nets.inside import Inside, integrated_gradients, summary
from mnist_demo.nets.models import build_model


def conv_same(x, kernel, bias):
    """'same' 2-D convolution (cross-correlation, as Keras does), written out in NumPy.
    x (h, w, c_in), kernel (k, k, c_in, c_out) -> (h, w, c_out)."""
    k = kernel.shape[0]
    pad = k // 2
    xp = np.pad(x.astype(np.float64), ((pad, pad), (pad, pad), (0, 0)))
    h, w = x.shape[:2]
    out = np.zeros((h, w, kernel.shape[-1]))
    for dy in range(k):
        for dx in range(k):
            out += xp[dy : dy + h, dx : dx + w, :] @ kernel[dy, dx].astype(np.float64)
    return out + bias


def max_pool_2(x):
    """2x2 max pooling, stride 2, 'same' padding (odd sizes padded with -inf at the end)."""
    h, w, c = x.shape
    hp, wp = -(-h // 2) * 2, -(-w // 2) * 2
    padded = np.full((hp, wp, c), -np.inf)
    padded[:h, :w] = x
    return padded.reshape(hp // 2, 2, wp // 2, 2, c).max(axis=(1, 3))


def test_cnn_feature_maps_equal_numpy(shipped_cnn, mnist):
    x = mnist.x_test[7].astype(np.float32) / 255.0
    acts = Inside(shipped_cnn).activations(x)
    w1, b1 = shipped_cnn.get_layer("conv1").get_weights()
    w2, b2 = shipped_cnn.get_layer("conv2").get_weights()
    conv1 = np.maximum(conv_same(x[..., None], w1, b1), 0)
    pool1 = max_pool_2(conv1)
    conv2 = np.maximum(conv_same(pool1, w2, b2), 0)
    pool2 = max_pool_2(conv2)
    assert acts["conv1"].shape == (28, 28, 32) and acts["conv2"].shape == (14, 14, 64)
    for name, want in (("conv1", conv1), ("pool1", pool1), ("conv2", conv2), ("pool2", pool2)):
        np.testing.assert_allclose(acts[name], want, atol=1e-4, err_msg=name)
    wd, bd = shipped_cnn.get_layer("fully_connected").get_weights()
    dense = np.maximum(pool2.reshape(-1) @ wd + bd, 0)
    np.testing.assert_allclose(acts["fully_connected"], dense, atol=1e-3)
    assert acts["softmax"].argmax() == mnist.y_test[7]


def test_mlp_first_layer_units_equal_numpy(shipped_mlp, mnist):
    x = mnist.x_test[3].astype(np.float32) / 255.0
    inside = Inside(shipped_mlp)
    w, b = shipped_mlp.get_layer("dense1").get_weights()
    np.testing.assert_allclose(inside.activations(x)["dense1"],
                               np.maximum(x.reshape(-1) @ w + b, 0), atol=1e-4)  # fmt: skip
    units = inside.first_filters()
    assert units.shape == (512, 28, 28)
    np.testing.assert_array_equal(units[17], w[:, 17].reshape(28, 28))
    assert Inside(shipped_cnn_like()).first_filters().shape == (32, 5, 5)


def shipped_cnn_like():
    return build_model("cnn")


def _tiny():
    keras.utils.set_random_seed(3)
    return keras.Sequential([
        keras.Input((5, 5, 1)),
        keras.layers.Conv2D(3, 3, activation="tanh"),
        keras.layers.Flatten(),
        keras.layers.Dense(4, activation="sigmoid"),
        keras.layers.Dense(3),
    ])  # fmt: skip


def test_integrated_gradients_match_a_numerical_reference():
    """Finite differences (float64, central) along the path, integrated with many more steps:
    the attribution of every pixel agrees, and they add up to score(x) - score(0)."""
    model = _tiny()
    x = np.random.default_rng(0).uniform(0, 1, (5, 5, 1)).astype(np.float32)
    target = 2

    def score(v):
        return float(model(v[None].astype(np.float32), training=False)[0, target])

    def tape_gradients(path, t):
        with tf.GradientTape() as tape:
            tape.watch(path)
            s = model(path, training=False)[:, t]
        return tape.gradient(s, path)

    ours = integrated_gradients(tape_gradients, x, target, steps=64)
    n, eps, d = 400, 1e-3, x.size
    points = ((np.arange(n) + 0.5) / n)[:, None, None] * x.reshape(1, 1, d)  # (n, 1, d)
    nudge = eps * np.eye(d)[None]  # (1, d, d): one pixel moved per row
    batch = np.concatenate([points + nudge, points - nudge], 1).reshape(-1, *x.shape)
    s = model(batch.astype(np.float32), training=False).numpy()[:, target].reshape(n, 2, d)
    ref = x * ((s[:, 0] - s[:, 1]) / (2 * eps)).mean(0).reshape(x.shape)
    np.testing.assert_allclose(ours, ref[..., 0], atol=2e-3)
    assert ours.sum() == pytest.approx(score(x) - score(np.zeros_like(x)), abs=5e-3)


def test_attributions_of_the_cnn_add_up_to_its_score_change(shipped_cnn, mnist):
    inside = Inside(shipped_cnn)
    x = mnist.x_test[0].astype(np.float32) / 255.0
    heat = inside.attributions(x, 7, steps=128)
    scores = keras.Sequential(shipped_cnn.layers[:-1])
    s = scores(np.stack([x, np.zeros_like(x)])[..., None], training=False).numpy()[:, 7]
    assert heat.shape == (28, 28)
    assert heat.sum() == pytest.approx(s[0] - s[1], rel=0.05)
    assert heat[x == 0].max() == 0  # a blank pixel cannot have pushed anything


def test_summaries_count_the_seed_parameters(shipped_cnn, shipped_mlp):
    rows, total = summary(shipped_cnn)
    assert total == 3_274_634
    assert [r["layer"] for r in rows][:2] == ["conv1", "pool1"]
    assert rows[0]["output"] == "28x28x32" and rows[0]["parameters"] == 5 * 5 * 32 + 32
    assert summary(shipped_mlp)[1] == 669_706


def test_a_model_of_another_shape_is_refused():
    other = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(name="flat"),
                              keras.layers.Dense(10, name="out")], name="cnn")  # fmt: skip
    with pytest.raises(MnistDemoError, match="not one of the seed's two networks"):
        Inside(other)
