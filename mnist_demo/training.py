"""The training engine the CLI and the app share: run a recipe, stream metric events, honour a stop.

It knows nothing of its callers. Subscribers receive plain dicts; a stop request (a threading.Event)
ends training after the current batch and leaves the partly trained model usable.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from mnist_demo.augment import augment_batch
from mnist_demo.data import Mnist
from mnist_demo.errors import TrainingDiverged
from mnist_demo.events import END, EVAL, START, STEP
from mnist_demo.inference import BATCH, evaluate
from mnist_demo.models import as_float32, build_model, resolve_precision
from mnist_demo.recipes import Recipe
from mnist_demo.result import TrainResult
from mnist_demo.schedule import make_optimizer, plan_steps

Event = dict  # see events.py
Subscriber = Callable[[Event], None]
EMIT_INTERVAL_S = 0.5  # a step event at most this often: reading metrics forces a device sync


def train(
    recipe: Recipe,
    data: Mnist,
    *,
    subscribers: list[Subscriber] = (),
    stop: threading.Event | None = None,
    tensorboard_dir: str | None = None,
    max_steps: int | None = None,
) -> TrainResult:
    """Train a fresh network by `recipe` on `data`; events go to each subscriber as they happen.

    `max_steps` caps the schedule (tests and quick previews train a few steps of a real recipe).
    """
    precision = resolve_precision(recipe.precision)
    keras.utils.set_random_seed(recipe.seed)
    model = build_model(recipe.model, precision)
    x_fit, y_fit, val = _split(recipe, data)
    plan = plan_steps(recipe, len(x_fit), max_steps)
    model.compile(
        optimizer=make_optimizer(recipe, plan.total_steps),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=plan.steps_per_execution,
    )
    reporter = _Reporter(recipe, plan, len(x_fit), subscribers, stop)
    train_ds, val_ds = _train_dataset(x_fit, y_fit, recipe), _eval_dataset(*val)
    reporter.start()  # training time counts from here: data sets built, model compiled
    model.fit(
        train_ds,
        epochs=plan.rounds,
        steps_per_epoch=plan.steps_per_round,
        validation_data=val_ds,
        callbacks=[reporter, *_extra_callbacks(recipe, tensorboard_dir)],
        shuffle=False,  # the dataset shuffles itself
        verbose=0,
    )
    return _result(recipe, data, model, reporter, precision)


def _extra_callbacks(recipe: Recipe, tensorboard_dir: str | None) -> list:
    callbacks = []
    if (patience := recipe.early_stopping_patience) is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience))
    if tensorboard_dir:
        callbacks.append(keras.callbacks.TensorBoard(tensorboard_dir, write_graph=True))
    return callbacks


def _result(recipe, data, model, reporter, precision) -> TrainResult:
    """The trained model, evaluated on the test set once training is over."""
    seconds = time.perf_counter() - reporter.t0
    model = as_float32(model)  # portable to any CPU, no optimizer state; what gets saved
    test_loss, test_accuracy = evaluate(model, data.x_test, data.y_test)
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
        stopped=reporter.step < reporter.plan.total_steps,
        train_images=len(data.x_train),
        test_images=len(data.x_test),
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
    return data.x_train, data.y_train, (data.x_test, data.y_test)


def _train_dataset(x: np.ndarray, y: np.ndarray, recipe: Recipe):
    def prep(images, labels):
        images = tf.cast(images, tf.float32)[..., None] / 255.0
        if recipe.augment:
            images = augment_batch(images)
        return images, tf.cast(labels, tf.int32)

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(len(x), seed=recipe.seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(recipe.batch_size, drop_remainder=True)
    return ds.map(prep, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _eval_dataset(x: np.ndarray, y: np.ndarray):
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    return ds.map(lambda a, b: (tf.cast(a, tf.float32)[..., None] / 255.0, tf.cast(b, tf.int32)))


class _Reporter(keras.callbacks.Callback):
    """Turns Keras callbacks into metric events and a stop request into `stop_training`."""

    def __init__(self, recipe, plan, n_train, subscribers, stop):
        super().__init__()
        self.recipe, self.plan, self.n_train = recipe, plan, n_train
        self.subscribers = list(subscribers)
        self.stop = stop or threading.Event()
        self.history: deque[Event] = deque(maxlen=20_000)
        self.step = 0
        self.round = 0
        self.t0 = self.last_t = time.perf_counter()
        self.last_step = 0
        self.rate = 0.0  # samples/s between the last two step events
        self.val_key = "test" if recipe.validation == "test" else "val"

    def start(self) -> None:
        self.t0 = self.last_t = time.perf_counter()
        self._emit({"kind": START, **self._base(time.perf_counter())})

    def on_epoch_begin(self, epoch, logs=None):
        self.round = epoch

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the last step of this call (several with steps_per_execution > 1).
        self.step = self.round * self.plan.steps_per_round + batch + 1
        if self.stop.is_set():
            self.model.stop_training = True
        now = time.perf_counter()
        if now - self.last_t >= EMIT_INTERVAL_S or self.step >= self.plan.total_steps:
            dt = now - self.last_t
            self.rate = (self.step - self.last_step) * self.recipe.batch_size / dt if dt else 0.0
            self._emit({"kind": STEP, **self._base(now), **_floats(logs, "loss", "accuracy")})
            self.last_t, self.last_step = now, self.step
        if self.step >= self.plan.total_steps:
            self.model.stop_training = True  # a capped or step-based plan ends mid-round

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        event = {
            "kind": EVAL,
            **self._base(time.perf_counter()),
            **_floats(logs, "loss", "accuracy"),
        }
        if "val_accuracy" in logs:
            event[f"{self.val_key}_accuracy"] = float(logs["val_accuracy"])
            event[f"{self.val_key}_loss"] = float(logs["val_loss"])
        self._emit(event)
        # Evaluation time is not training time: the next rate counts from here.
        self.last_t, self.last_step = time.perf_counter(), self.step

    def finish(self, test_loss: float, test_accuracy: float, seconds: float) -> None:
        self._emit(
            {
                "kind": END,
                **self._base(time.perf_counter()),
                "elapsed": seconds,
                "test_accuracy": test_accuracy,
                "test_loss": test_loss,
                "stopped": self.step < self.plan.total_steps,
            }
        )

    def _base(self, now: float) -> Event:
        return {
            "step": self.step,
            "total_steps": self.plan.total_steps,
            "epoch": self.step * self.recipe.batch_size / self.n_train,
            "samples": self.step * self.recipe.batch_size,
            "elapsed": now - self.t0,
            "samples_per_s": self.rate,
        }

    def _emit(self, event: Event) -> None:
        if not math.isfinite(event.get("loss", 0.0)):  # nothing useful can come after this
            raise TrainingDiverged(
                f"the training diverged at step {self.step:,} (the loss is no longer a number): "
                "try a lower learning rate"
            )
        self.history.append(event)
        for subscriber in self.subscribers:
            subscriber(event)


def _floats(logs, *keys) -> dict:
    return {k: float(logs[k]) for k in keys if logs and k in logs}
