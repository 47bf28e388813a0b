"""Fine-tuning on a person's own digits: learn their style in seconds without forgetting MNIST.

A fine-tune starts from a trained network (shipped, saved or this session's) and trains it for a
few hundred steps where every batch is half the person's taught digits (augmented: shifts,
rotations, stroke widths, as training augments MNIST) and half MNIST training digits replayed,
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

import keras
import numpy as np
import tensorflow as tf

from mnist_demo.data import Mnist
from mnist_demo.nets.models import build_model, resolve_precision
from mnist_demo.training.augment import augment_batch
from mnist_demo.training.control import Control
from mnist_demo.training.engine import _panel, _portable, _result, _subset
from mnist_demo.training.recipes import Recipe
from mnist_demo.training.reporter import Reporter
from mnist_demo.training.result import TrainResult
from mnist_demo.training.schedule import make_optimizer, plan_steps

HOLD_OUT = 0.2  # of each digit taught at least twice, at least one
BATCH = 128
STEPS = {"cnn": 300, "mlp": 600}  # about 10 s for the CNN on 2 cores, 5 s for the MLP
TAUGHT_SHARE = 0.15  # of each batch; the rest is MNIST, replayed so that it is not forgotten
LEARNING_RATE = {"cnn": 5e-4, "mlp": 1e-3}  # chosen on the training set's held-out tail
REPLAY = 20_000  # MNIST training digits a fine-tune draws its replayed half from


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
    return Recipe(kind, "fine-tune", BATCH, LEARNING_RATE[kind], steps=steps,
                  eval_every=max(1, steps // 6), schedule="cosine", warmup_fraction=0.1,
                  augment=True, seed=seed, steps_per_execution=4)  # fmt: skip


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
    """Fine-tune spec's network on its taught digits; the result's `extra["finetune"]` holds the
    before/after accuracies on the MNIST test set and on the held-out taught digits."""
    t0 = time.perf_counter()
    control = control or Control(stop)
    recipe, precision = spec.recipe, resolve_precision(spec.recipe.precision)
    keras.utils.set_random_seed(recipe.seed)
    fit, held = held_out_fold(np.asarray(spec.y), recipe.seed)
    if len(fit) == 0:
        raise ValueError("no taught digits to fine-tune on")
    portable = _portable(recipe.model)
    portable[0].set_weights(spec.weights)
    before = _scores(portable[1], data, spec, held)
    model = build_model(recipe.model, precision, training=True)
    model.set_weights(spec.weights)
    plan = plan_steps(recipe, 2 * len(fit), max_steps)  # an "epoch": each taught digit once
    model.compile(optimizer=make_optimizer(recipe, plan.total_steps),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=plan.steps_per_execution)  # fmt: skip
    reporter = Reporter(recipe, plan, 2 * len(fit), subscribers, control,
                        _subset(data.x_test, data.y_test), _panel(data))  # fmt: skip
    dataset = _mixed(spec.x[fit], spec.y[fit], data, recipe)
    reporter.start(model)
    model.fit(dataset, epochs=plan.rounds, steps_per_epoch=plan.steps_per_round,
              callbacks=[reporter], shuffle=False, verbose=0)  # fmt: skip
    result = _result(recipe, data, model, portable, reporter, precision)
    after = _scores(portable[1], data, spec, held, mnist_test=result.test_accuracy)
    result.extra = {"finetune": {
        "base": spec.base, "taught": len(spec.y), "trained_on": len(fit), "held_out": len(held),
        "before": before, "after": after, "seconds": round(time.perf_counter() - t0, 2)}}  # fmt: skip
    result.train_images = len(fit)
    return result


def _scores(evaluator, data: Mnist, spec: FineTune, held, mnist_test=None) -> dict:
    """Accuracy on the MNIST test set and on the held-out taught digits (None without any)."""
    from mnist_demo.nets.inference import evaluate, predict_probs

    if mnist_test is None:
        mnist_test = evaluate(evaluator, data.x_test, data.y_test)[1]
    taught = None
    if len(held):
        probs = predict_probs(evaluator, np.asarray(spec.x)[held])
        taught = float((probs.argmax(1) == np.asarray(spec.y)[held]).mean())
    return {"mnist_test": round(float(mnist_test), 6),
            "taught": None if taught is None else round(taught, 6)}  # fmt: skip


def _mixed(x_taught, y_taught, data: Mnist, recipe: Recipe):
    """Batches of half taught digits (with replacement) and half MNIST training digits, all
    augmented as training augments."""
    rng = np.random.default_rng(recipe.seed)
    pick = np.sort(rng.choice(len(data.x_train), min(REPLAY, len(data.x_train)), replace=False))
    n_taught = max(1, round(recipe.batch_size * TAUGHT_SHARE))

    def stream(x, y, n):
        ds = tf.data.Dataset.from_tensor_slices((np.asarray(x), np.asarray(y, dtype=np.int32)))
        return ds.shuffle(len(x), seed=recipe.seed).repeat().batch(n)

    def prep(a, b):
        images = tf.concat([a[0], b[0]], 0)
        images = augment_batch(tf.cast(images, tf.float32)[..., None] / 255.0)
        return images, tf.concat([a[1], b[1]], 0)

    taught = stream(x_taught, y_taught, n_taught)
    replay = stream(data.x_train[pick], data.y_train[pick], recipe.batch_size - n_taught)
    return tf.data.Dataset.zip(taught, replay).map(prep).prefetch(tf.data.AUTOTUNE)
