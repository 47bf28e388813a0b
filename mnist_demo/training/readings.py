"""What a training reads at each evaluation, in one pass of the network: the fixed held-out
subset (its loss and accuracy), the live panel's 20 digits and the caller's drawing.

The Reporter (reporter.py) calls it between two steps, so that the weights cannot change under it.
"""

from __future__ import annotations

import weakref

import numpy as np
import tensorflow as tf

from mnist_demo.data import BATCH
from mnist_demo.nets.inference import loss_and_accuracy

_TRACED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # network -> its traced pass


class Readings:
    def __init__(self, held_out, panel, val_key: str):
        self.held_out = held_out  # (x float32 (n, 28, 28, 1), y int) of at most EVAL_IMAGES
        self.panel = panel  # (x float32 (20, 28, 28, 1), y int): the digits read at each eval
        self.val_key = val_key  # "test" or "val": the name the held-out figures go by
        self._predict = None

    def trace(self, model) -> None:
        """One trace for every batch size, done now: compiling is set-up, not evaluation time.
        Once per network: a Reset's run, or a kept network's next training, reuses it."""
        self._predict = _TRACED.get(model)
        if self._predict is None:
            spec = tf.TensorSpec((None, 28, 28, 1), tf.float32)
            network = weakref.ref(model)  # the trace must not keep its network alive
            self._predict = tf.function(
                lambda x: network()(x, training=False), input_signature=[spec]
            )
            self._predict(tf.zeros((1, 28, 28, 1)))
            _TRACED[model] = self._predict

    def read(self, drawing: np.ndarray | None, images: int | None = None) -> tuple:
        """(held-out loss, accuracy, the EVAL event's fields) of the network as it is now, on
        the held-out subset or its first `images`."""
        x, y = (a[:images] for a in self.held_out)
        extra = [self.panel[0]] + ([drawing.reshape(1, 28, 28, 1)] if drawing is not None else [])
        probs = self._probabilities(np.concatenate([x, *extra]))
        held, rest, n = probs[: len(y)], probs[len(y) :], len(self.panel[1])
        loss, acc = loss_and_accuracy(held, y)
        fields = {
            f"{self.val_key}_loss": loss,
            f"{self.val_key}_accuracy": acc,
            "eval_images": len(y),
            "panel": rest[:n].argmax(1).tolist(),
            "panel_sure": np.round(rest[:n].max(1), 3).tolist(),
        }
        if drawing is not None:
            fields["drawing"] = int(rest[n].argmax())
            fields["drawing_sure"] = round(float(rest[n].max()), 3)
        return loss, acc, fields

    def _probabilities(self, x: np.ndarray) -> np.ndarray:
        out = [self._predict(tf.constant(x[i : i + BATCH])) for i in range(0, len(x), BATCH)]
        return np.concatenate([np.asarray(o, np.float32) for o in out])
