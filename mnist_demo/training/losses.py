"""What a training minimises, and the loss its curves show.

Label smoothing (Szegedy et al., "Rethinking the Inception Architecture", 2016) trains towards a
target that gives the right digit 1 - e + e/10 and every other digit e/10, instead of all of it
to the right one: the network is not pushed to ever more confident outputs on digits it already
reads. On the class CNN's short run it is worth about 0.11 points of held-out accuracy
(recipes.py). The smoothed loss never falls below the target's own entropy (0.50 at e = 0.1), so a
curve of it would sit far above the held-out loss, which is the plain cross-entropy: a smoothed
recipe's curves show the plain cross-entropy of its training batches instead (CROSS_ENTROPY,
a metric beside the loss), so that the two curves compare.
"""

from __future__ import annotations

import keras
import tensorflow as tf

CROSS_ENTROPY = "cross_entropy"  # the metric's name in Keras' logs


class SmoothedCrossEntropy(keras.losses.Loss):
    """Cross-entropy of probabilities (n, classes) against integer labels (n,), the target
    smoothed by `smoothing`."""

    def __init__(self, smoothing: float, name: str = "smoothed_cross_entropy"):
        super().__init__(name=name)
        self.smoothing = smoothing

    def call(self, y_true, y_pred):
        labels = tf.one_hot(tf.cast(tf.reshape(y_true, [-1]), tf.int32), tf.shape(y_pred)[-1])
        return keras.losses.categorical_crossentropy(labels, y_pred, label_smoothing=self.smoothing)

    def get_config(self):
        return {"smoothing": self.smoothing, "name": self.name}


def loss_for(recipe):
    if not recipe.label_smoothing:
        return "sparse_categorical_crossentropy"
    return SmoothedCrossEntropy(recipe.label_smoothing)


def metrics_for(recipe) -> list:
    """Accuracy, and for a smoothed loss the plain cross-entropy the curves show."""
    if not recipe.label_smoothing:
        return ["accuracy"]
    return ["accuracy", keras.metrics.SparseCategoricalCrossentropy(name=CROSS_ENTROPY)]
