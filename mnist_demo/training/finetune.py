"""Fine-tuning on a person's own digits: learn their style in seconds without forgetting MNIST.

A fine-tune starts from a trained network (shipped, saved or this session's) and trains it for a
few hundred steps where every batch is 15% the person's taught digits (augmented: shifts,
rotations, stroke widths, as training augments MNIST) and 85% MNIST training digits replayed,
so that the new style is learnt while MNIST is not forgotten. It streams the same events as any
training (live curves of the MNIST test accuracy) and honours stop and pause.

Some taught digits are held out (a stratified fold, HOLD_OUT of each digit taught at least twice)
and never trained on: the before/after accuracy on them says how well the style was learnt, not
how well the network remembers the drawings it saw.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import tensorflow as tf

from mnist_demo.data import Mnist
from mnist_demo.events import panel_indices
from mnist_demo.training import engine
from mnist_demo.training.augment import augment_batch
from mnist_demo.training.control import Control
from mnist_demo.training.recipes import Recipe
from mnist_demo.training.result import TrainResult

HOLD_OUT = 0.2  # of each digit taught at least twice, at least one
BATCH = 128
STEPS = {"cnn": 300, "mlp": 600}  # CNN: ~10 s on 2 AMX cores, ~60 s of steps on 2 AVX2 cores
TAUGHT_SHARE = 0.15  # of each batch; the rest is MNIST, replayed so that it is not forgotten
LEARNING_RATE = {"cnn": 5e-4, "mlp": 1e-3}  # chosen on the training set's held-out tail
REPLAY = 20_000  # MNIST training digits a fine-tune draws its replayed share from


@dataclass(frozen=True)
class FineTune:
    """What a fine-tune starts from and learns: a network's weights and the taught digits."""

    kind: str  # "cnn" or "mlp"
    weights: list  # the starting network's weights (float32 arrays)
    x: np.ndarray  # (n, 28, 28) uint8, the taught digits as the app preprocessed them
    y: np.ndarray  # (n,) digits 0-9
    base: str = ""  # the starting model's name, for the record
    recipe: Recipe = field(default=None)  # None: fine_tune_recipe(kind)

    def __post_init__(self):
        if self.recipe is None:
            object.__setattr__(self, "recipe", fine_tune_recipe(self.kind))


def fine_tune_recipe(kind: str, steps: int | None = None, seed: int = 0) -> Recipe:
    steps = steps or STEPS[kind]
    return Recipe(
        kind,
        "fine-tune",
        BATCH,
        LEARNING_RATE[kind],
        steps=steps,
        eval_every=max(1, steps // 6),
        schedule="cosine",
        warmup_fraction=0.1,
        augment=True,
        seed=seed,
        steps_per_execution=4,
    )


def held_out_fold(y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(indices to train on, indices held out): HOLD_OUT of each digit taught at least twice."""
    rng = np.random.default_rng(seed)
    fit, held = [], []
    for digit in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == digit))
        k = max(1, round(HOLD_OUT * len(idx))) if len(idx) >= 2 else 0
        held += idx[:k].tolist()
        fit += idx[k:].tolist()
    return np.sort(np.array(fit, dtype=int)), np.sort(np.array(held, dtype=int))


def finetune(
    spec: FineTune,
    data: Mnist,
    *,
    subscribers=(),
    stop: threading.Event | None = None,
    control: Control | None = None,
    max_steps: int | None = None,
) -> TrainResult:
    """Fine-tune spec's network on its taught digits through the engine (engine.train from its
    weights, fed the mixed batches); the result's `extra["finetune"]` holds the before/after
    accuracies on the MNIST test set and on the held-out taught digits."""
    t0, recipe = time.perf_counter(), spec.recipe
    fit, held = held_out_fold(np.asarray(spec.y), recipe.seed)
    if len(fit) == 0:
        raise ValueError("no taught digits to fine-tune on")
    portable = engine.portable_network(recipe.model)
    portable[0].set_weights(spec.weights)
    before = _scores(portable[1], data, spec, held)
    # An "epoch" of the curves: each taught digit once (a batch is 15% of them).
    batches = partial(_mixed, spec.x[fit], spec.y[fit], data, recipe)
    feed = engine.Feed(batches, round(len(fit) / TAUGHT_SHARE), (data.x_test, data.y_test))
    result = engine.train(
        recipe,
        data,
        subscribers=subscribers,
        stop=stop,
        control=control,
        max_steps=max_steps,
        start=spec.weights,
        feed=feed,
        portable=portable,
    )
    after = _scores(portable[1], data, spec, held, mnist_test=result.test_accuracy)
    result.extra = {"finetune": _record(spec, fit, held, before, after, time.perf_counter() - t0)}
    result.train_images = len(fit)
    return result


def _record(spec: FineTune, fit, held, before: dict, after: dict, seconds: float) -> dict:
    return {
        "base": spec.base,
        "taught": len(spec.y),
        "trained_on": len(fit),
        "held_out": len(held),
        "before": before,
        "after": after,
        "seconds": round(seconds, 2),
    }


def _scores(evaluator, data: Mnist, spec: FineTune, held, mnist_test=None) -> dict:
    """Accuracy on the MNIST test set and on the held-out taught digits (None without any)."""
    from mnist_demo.nets.inference import evaluate, predict_probs

    if mnist_test is None:
        mnist_test = evaluate(evaluator, data.x_test, data.y_test)[1]
    taught = None
    if len(held):
        probs = predict_probs(evaluator, np.asarray(spec.x)[held])
        taught = float((probs.argmax(1) == np.asarray(spec.y)[held]).mean())
    return {
        "mnist_test": round(float(mnist_test), 6),
        "taught": None if taught is None else round(taught, 6),
    }


def _mixed(x_taught, y_taught, data: Mnist, recipe: Recipe):
    """Batches of TAUGHT_SHARE taught digits (with replacement), the rest MNIST training digits, all
    augmented as training augments."""
    rng = np.random.default_rng(recipe.seed)
    pool = np.flatnonzero(~np.isin(np.arange(len(data.x_train)), panel_indices(len(data.x_train))))
    pick = np.sort(rng.choice(pool, min(REPLAY, len(pool)), replace=False))
    n_taught = max(1, round(recipe.batch_size * TAUGHT_SHARE))

    def stream(x, y, n):
        ds = tf.data.Dataset.from_tensor_slices((np.asarray(x), np.asarray(y, dtype=np.int32)))
        # Whole batches of a known size: the training layers then take their measured faster
        # gradients (timed.remembered), which a batch of unknown size cannot.
        return ds.shuffle(len(x), seed=recipe.seed).repeat().batch(n, drop_remainder=True)

    def prep(a, b):
        images = tf.concat([a[0], b[0]], 0)
        images = augment_batch(tf.cast(images, tf.float32)[..., None] / 255.0)
        return images, tf.concat([a[1], b[1]], 0)

    taught = stream(x_taught, y_taught, n_taught)
    replay = stream(data.x_train[pick], data.y_train[pick], recipe.batch_size - n_taught)
    return tf.data.Dataset.zip(taught, replay).map(prep).prefetch(tf.data.AUTOTUNE)
