"""What a network does with one input: every layer's output, its first layer's filters or units,
which pixels pushed its answer (integrated gradients), and its summary.

The seed's networks are Keras Sequential models; their layers are run one by one in a traced
function (one trace per model), so that all of them come back from one call.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from mnist_demo.errors import MnistDemoError
from mnist_demo.nets.models import INPUT_SHAPE

# The layers shown, per network: (layer name, what the page calls it).
STAGES = {
    "cnn": ("conv1", "pool1", "conv2", "pool2", "fully_connected", "softmax"),
    "mlp": ("dense1", "dense2", "softmax"),
}
IG_STEPS = 32  # points on the path from the blank canvas to the input (midpoint rule)
_ONE = tf.TensorSpec((1, *INPUT_SHAPE), tf.float32)


class Inside:
    """One model's inside, for one (28, 28) float32 input in [0, 1] at a time."""

    def __init__(self, model):
        self.model = model
        self.kind = model.name
        names = [layer.name for layer in model.layers]
        if self.kind not in STAGES or any(n not in names for n in STAGES[self.kind]):
            raise MnistDemoError(f"{model.name!r} is not one of the seed's two networks")
        self._outputs = tf.function(self._all_layers, input_signature=[_ONE])
        self._paths = tf.function(
            self._path_gradients,
            input_signature=[
                tf.TensorSpec((None, *INPUT_SHAPE), tf.float32),
                tf.TensorSpec((), tf.int32),
            ],
        )

    def _all_layers(self, x):
        out = {}
        for layer in self.model.layers:
            x = layer(x, training=False)
            out[layer.name] = tf.cast(x, tf.float32)
        return out

    def _path_gradients(self, path, target):
        with tf.GradientTape() as tape:
            tape.watch(path)
            score = scores_before_softmax(self.model, path)[:, target]
        return tape.gradient(score, path)

    def activations(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """{layer name: its output for x, without the batch axis} for STAGES[kind]."""
        out = self._outputs(tf.constant(np.asarray(x, np.float32).reshape(_ONE.shape)))
        return {name: out[name].numpy()[0] for name in STAGES[self.kind]}

    def attributions(self, x: np.ndarray, digit: int, steps: int = IG_STEPS) -> np.ndarray:
        """(28, 28): integrated gradients of the score for `digit` (before the softmax), from
        the blank canvas to x. Positive pixels pushed `digit` up, negative ones down; they sum
        to score(x) - score(blank)."""
        x = np.asarray(x, np.float32).reshape(INPUT_SHAPE)
        return integrated_gradients(lambda p, t: self._paths(p, t).numpy(), x, digit, steps)

    def first_filters(self) -> np.ndarray:
        """The CNN's conv1 kernels as (32, 5, 5); the MLP's dense1 units as (512, 28, 28)."""
        if self.kind == "cnn":
            kernel = self.model.get_layer("conv1").get_weights()[0]  # (5, 5, 1, 32)
            return np.moveaxis(kernel[:, :, 0, :], -1, 0)
        kernel = self.model.get_layer("dense1").get_weights()[0]  # (784, 512)
        return kernel.T.reshape(-1, *INPUT_SHAPE[:2])


def scores_before_softmax(model, x):
    """The model's ten scores (logits) for a batch: every layer but the final softmax."""
    for layer in model.layers[:-1]:
        x = layer(x, training=False)
    return tf.cast(x, tf.float32)


def integrated_gradients(gradients, x: np.ndarray, target: int, steps: int = IG_STEPS):
    """Integrated gradients (Sundararajan et al., 2017) from a zero baseline, midpoint rule:
    x * mean over a in ((k + 0.5) / steps) of d score_target / dx at a * x.
    `gradients(path, target)` returns d score_target / d input for a batch of inputs."""
    alphas = (np.arange(steps, dtype=np.float32) + 0.5) / steps
    path = alphas.reshape(-1, *([1] * x.ndim)) * x[None]
    grads = np.asarray(gradients(tf.constant(path), tf.constant(target, tf.int32)))
    return (x * grads.mean(0)).reshape(x.shape[:2])


def summary(model) -> tuple[list[dict], int]:
    """([{"layer", "type", "output", "parameters"}, ...], total parameters)."""
    rows = []
    for layer in model.layers:
        shape = tuple(layer.output.shape) if hasattr(layer, "output") else ()
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output": "x".join(str(d) for d in shape[1:]),
                "parameters": int(layer.count_params()),
            }
        )
    return rows, int(sum(r["parameters"] for r in rows))
