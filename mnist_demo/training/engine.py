"""The training engine the CLI and the app share: run a recipe, stream metric events, honour a stop.

It knows nothing of its callers. Subscribers receive plain dicts; a stop request (a threading.Event)
ends training after the current batch and leaves the partly trained model usable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from mnist_demo.data import Mnist, to_float
from mnist_demo.events import panel_images, panel_indices
from mnist_demo.nets.inference import batch_function, evaluate
from mnist_demo.nets.models import build_model, resolve_precision
from mnist_demo.training import kept
from mnist_demo.training.augment import augment_batch
from mnist_demo.training.control import Control
from mnist_demo.training.losses import loss_for, metrics_for
from mnist_demo.training.recipes import Recipe
from mnist_demo.training.reporter import EVAL_IMAGES, Reporter
from mnist_demo.training.result import TrainResult
from mnist_demo.training.schedule import make_optimizer, plan_steps
from mnist_demo.training.styles import restyle
from mnist_demo.training.warp import random_warp

Event = dict  # see events.py
# A stopped run's final test: the first 1,000 test digits (0.3 s for the CNN on a 2-core AVX2
# EPYC, where 2,000 kept Stop -> end on screen at 1.5-1.7 s and all 10,000 took 3-5 s). Its
# accuracy is within about 0.6 points of the whole set's (two standard errors at 99%); the end
# says how many digits it comes from, and `evaluate` measures any model on all.
STOPPED_TEST_IMAGES = 1_000
Subscriber = Callable[[Event], None]


@dataclass(frozen=True)
class Feed:
    """What a training learns from: its batches (made once the run's seed is set), how many
    distinct images one pass over them is, and the held-out (x uint8, y) its curves read."""

    batches: Callable[[], tf.data.Dataset]
    n_train: int
    held_out: tuple[np.ndarray, np.ndarray]


def mnist_feed(recipe: Recipe, data: Mnist) -> Feed:
    """MNIST's training set (less a validation split), augmented as the recipe says."""
    x_fit, y_fit, val = _split(recipe, data)
    return Feed(lambda: _train_dataset(x_fit, y_fit, recipe), len(x_fit), val)


def train(
    recipe: Recipe,
    data: Mnist,
    *,
    subscribers: list[Subscriber] = (),
    stop: threading.Event | None = None,
    control: Control | None = None,
    tensorboard_dir: str | None = None,
    max_steps: int | None = None,
    start: list | None = None,
    feed: Feed | None = None,
    portable: tuple | None = None,
    keep: bool = False,
) -> TrainResult:
    """Train by `recipe`, events to each subscriber; `stop` ends it after the current step,
    `control` also pauses it, scales its rate, shows it a drawing; `max_steps` caps it. A
    fine-tune gives `start` (weights; else a fresh network), `feed` (else mnist_feed) and
    `portable` (the float32 network the result goes into; else portable_network's). `keep`:
    keep the network traced for the next training of this recipe in this process (kept.py)."""
    control = control or Control(stop)
    precision = resolve_precision(recipe.precision)
    keras.utils.set_random_seed(recipe.seed)
    feed = feed or mnist_feed(recipe, data)
    plan = plan_steps(recipe, feed.n_train, max_steps)
    model, portable, key = _network(recipe, precision, plan, start, portable)
    held, panel = _subset(*feed.held_out), _panel(data)
    batches = feed.batches()
    first = FirstState(model)  # what a reset goes back to
    if keep:
        kept.keep(key, model, portable, first.optimizer)
    while True:
        reporter = Reporter(recipe, plan, feed.n_train, subscribers, control, held, panel)
        reporter.start(model)  # training time counts from here: data sets built, model compiled
        if not (control.stop.is_set() or control.reset_asked):  # asked while it held at once
            callbacks = [reporter, *_extra_callbacks(recipe, tensorboard_dir)]
            _fit(model, batches, plan, callbacks)
        if control.stop.is_set() or not control.take_reset():
            return _result(recipe, data, model, portable, reporter, precision)
        keras.utils.set_random_seed(recipe.seed)  # the same shuffles and augmentations again
        first.restore()


class FirstState:
    """A network's first weights and its optimizer's first state, to start again from (Reset).
    The optimizer is built here, before its first step, so that its state can be kept too."""

    def __init__(self, model):
        self.model = model
        if not model.optimizer.built:  # a kept network's is (kept.py)
            model.optimizer.build(model.trainable_variables)
        self.weights = [w.numpy() for w in model.weights]
        self.optimizer = [v.numpy() for v in model.optimizer.variables]

    def restore(self) -> None:
        for variable, value in zip(self.model.weights, self.weights):
            variable.assign(value)
        for variable, value in zip(self.model.optimizer.variables, self.optimizer):
            variable.assign(value)


def _fit(model, batches, plan, callbacks: list) -> None:
    model.fit(
        batches,
        epochs=plan.rounds,
        steps_per_epoch=plan.steps_per_round,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself
        verbose=0,
    )


def _network(recipe: Recipe, precision: str, plan, start, portable) -> tuple:
    """(the network to train, compiled; the float32 network its result goes into; its key in
    kept.py): a fresh network of the recipe's seed (or `start`'s weights), or the kept one
    given its variables."""
    fresh = build_model(recipe.model, precision, training=True, init=recipe.init)
    if start is not None:
        fresh.set_weights(start)
    key = kept.signature(recipe, precision, plan.steps_per_execution)
    taken = kept.take(key, fresh, portable)
    if taken is None:
        _compile(fresh, recipe, plan)
        taken = fresh, portable or portable_network(recipe.model)
    return (*taken, key)


def _compile(model, recipe: Recipe, plan) -> None:
    model.compile(
        optimizer=make_optimizer(recipe, plan.total_steps),
        loss=loss_for(recipe),
        metrics=metrics_for(recipe),
        steps_per_execution=plan.steps_per_execution,
    )


def portable_network(kind: str):
    """What is returned and saved: the same network under float32 (portable to any CPU, no
    optimizer state), with its inference; built and traced before training, so that a stopped
    run ends at once."""
    model = build_model(kind)
    return model, batch_function(model)


def _extra_callbacks(recipe: Recipe, tensorboard_dir: str | None) -> list:
    callbacks = []
    if (patience := recipe.early_stopping_patience) is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience))
    if tensorboard_dir:
        callbacks.append(keras.callbacks.TensorBoard(tensorboard_dir, write_graph=True))
    return callbacks


def _result(recipe, data, trained, portable, reporter, precision) -> TrainResult:
    """The trained weights in the portable network, evaluated on the test set: all of it, or a
    fixed STOPPED_TEST_IMAGES of it when Stop was pressed (the end then shows at once; the
    record says how many digits its accuracy comes from)."""
    seconds = time.perf_counter() - reporter.t0
    model, evaluator = portable
    model.set_weights(trained.get_weights())
    x_test, y_test = data.x_test, data.y_test
    if reporter.control.stop.is_set() and len(x_test) > STOPPED_TEST_IMAGES:
        x_test, y_test = x_test[:STOPPED_TEST_IMAGES], y_test[:STOPPED_TEST_IMAGES]
    test_loss, test_accuracy = evaluate(evaluator, x_test, y_test, reporter.final_progress)
    reporter.finish(test_loss, test_accuracy, seconds)
    return TrainResult(
        model=model,
        recipe=recipe,
        precision=precision,
        steps=reporter.step,
        epochs=reporter.step * recipe.batch_size / reporter.n_train,
        seconds=seconds,
        test_accuracy=test_accuracy,
        test_loss=test_loss,
        stopped=reporter.step < reporter.total_steps,
        train_images=len(data.x_train),
        test_images=len(x_test),
        history=list(reporter.history),
    )


def _split(recipe: Recipe, data: Mnist):
    if recipe.validation == "split":
        # Keras' validation_split takes the last fraction of the data, before any shuffling.
        n_val = int(len(data.x_train) * recipe.validation_split)
        cut = len(data.x_train) - n_val
        return (
            data.x_train[:cut],
            data.y_train[:cut],
            (data.x_train[cut:], data.y_train[cut:]),
        )
    keep = _without_panel(len(data.x_train))
    return data.x_train[keep], data.y_train[keep], (data.x_test, data.y_test)


def _without_panel(n: int) -> np.ndarray:
    """Every training digit but the live panel's: the panel shows digits never trained on."""
    keep = np.ones(n, bool)
    keep[panel_indices(n)] = False
    return keep


def _train_dataset(x: np.ndarray, y: np.ndarray, recipe: Recipe):
    def prep(images, labels, twins=None):
        if twins is not None:  # with styles: the restyled twin (styles.py), half the time
            coin = tf.random.uniform([tf.shape(images)[0], 1, 1]) < 0.5
            images = tf.where(coin, twins, images)
        images = tf.cast(images, tf.float32)[..., None] / 255.0
        if recipe.styles:
            images = random_warp(images)
        if recipe.augment or recipe.styles:
            images = augment_batch(images)
        return images, tf.cast(labels, tf.int32)

    arrays = (x, y, restyle(x, y, recipe.seed)) if recipe.styles else (x, y)
    ds = tf.data.Dataset.from_tensor_slices(arrays)
    ds = ds.shuffle(len(x), seed=recipe.seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(recipe.batch_size, drop_remainder=True)
    return ds.map(prep, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _subset(x: np.ndarray, y: np.ndarray):
    """The held-out images evaluated during training: a fixed sample of EVAL_IMAGES, as float32
    inputs and int labels (the same every run, so that runs compare)."""
    pick = np.sort(np.random.default_rng(0).permutation(len(x))[:EVAL_IMAGES])
    return to_float(np.asarray(x)[pick]), np.asarray(y)[pick].astype(np.int64)


def _panel(data: Mnist):
    """The live panel's digits (events.panel_images), as float32 inputs and int labels."""
    x, y = panel_images(data)
    return to_float(x), np.asarray(y).astype(np.int64)
