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
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from mnist_demo.augment import augment_batch
from mnist_demo.data import Mnist, to_float
from mnist_demo.models import as_float32, build_model, resolve_precision
from mnist_demo.optimizer import FusedAdam
from mnist_demo.recipes import Recipe

Event = dict
Subscriber = Callable[[Event], None]
EMIT_INTERVAL_S = 0.5  # a step event at most this often: reading metrics forces a device sync
EVAL_BATCH = 1000


@dataclass
class TrainResult:
    model: keras.Model  # the trained weights under the float32 policy, uncompiled
    recipe: Recipe
    precision: str
    steps: int
    epochs: float  # passes over the training data, fractional when stopped or step-based
    seconds: float  # training only: excludes loading data and the final evaluation
    test_accuracy: float
    test_loss: float
    stopped: bool  # True when a stop request or early stopping ended it before the schedule
    history: list[Event] = field(default_factory=list)


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
    plan = _plan(recipe, len(x_fit), max_steps)
    model.compile(
        optimizer=make_optimizer(recipe, plan.total_steps),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=plan.steps_per_execution,
    )
    reporter = _Reporter(recipe, plan, len(x_fit), subscribers, stop)
    callbacks: list[keras.callbacks.Callback] = [reporter]
    if recipe.early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=recipe.early_stopping_patience
            )
        )
    if tensorboard_dir:
        callbacks.append(keras.callbacks.TensorBoard(tensorboard_dir, write_graph=True))
    train_ds = _train_dataset(x_fit, y_fit, recipe)
    val_ds = _eval_dataset(*val)
    reporter.start()
    model.fit(
        train_ds,
        epochs=plan.rounds,
        steps_per_epoch=plan.steps_per_round,
        validation_data=val_ds,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself
        verbose=0,
    )
    seconds = time.perf_counter() - reporter.t0
    model = as_float32(model)  # portable to any CPU, no optimizer state; what gets saved
    test_loss, test_accuracy = evaluate(model, data.x_test, data.y_test)
    reporter.finish(test_loss, test_accuracy, seconds)
    return TrainResult(
        model=model,
        recipe=recipe,
        precision=precision,
        steps=reporter.step,
        epochs=reporter.step * recipe.batch_size / len(x_fit),
        seconds=seconds,
        test_accuracy=test_accuracy,
        test_loss=test_loss,
        stopped=reporter.step < plan.total_steps,
        history=list(reporter.history),
    )


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(loss, accuracy) of `model` on uint8 images (n, 28, 28) and labels (n,), in large batches."""
    probs = predict_probs(model, x)
    p = np.clip(probs[np.arange(len(y)), y.astype(np.int64)], 1e-7, 1.0)
    return float(-np.log(p).mean()), float((probs.argmax(1) == y).mean())


def predict_probs(model: keras.Model, x: np.ndarray, batch: int = EVAL_BATCH) -> np.ndarray:
    """(n, 10) float32 probabilities for uint8 (n, 28, 28) or float32 (n, 28, 28, 1) images."""
    out = []
    for i in range(0, len(x), batch):
        chunk = x[i : i + batch]
        chunk = to_float(chunk) if chunk.dtype == np.uint8 else chunk
        out.append(np.asarray(model(chunk, training=False), dtype=np.float32))
    return np.concatenate(out) if out else np.zeros((0, 10), np.float32)


@dataclass(frozen=True)
class _Plan:
    steps_per_round: int  # Keras "epoch": steps between validation reports
    rounds: int
    total_steps: int
    steps_per_execution: int  # divides the rounds and the last round's length


def _plan(recipe: Recipe, n_train: int, max_steps: int | None) -> _Plan:
    steps_per_epoch = max(1, n_train // recipe.batch_size)
    total = recipe.steps if recipe.steps is not None else recipe.epochs * steps_per_epoch
    if max_steps is not None:
        total = max(1, min(total, max_steps))
    per_round = min(recipe.eval_every or steps_per_epoch, total)
    rounds = math.ceil(total / per_round)
    if recipe.eval_every is None:
        per_round = math.ceil(total / rounds)  # equal rounds: 800 steps -> 4 reports of 200
    last = total - (rounds - 1) * per_round
    # Calls must end where rounds end and where the schedule ends, or steps would overshoot.
    spe = max(d for d in range(1, recipe.steps_per_execution + 1) if per_round % d == 0 == last % d)
    return _Plan(per_round, rounds, total, spe)


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


def make_optimizer(recipe: Recipe, total_steps: int) -> FusedAdam:
    """The recipe's Adam: its learning rate (and schedule over `total_steps`), epsilon and
    weight averaging."""
    return FusedAdam(
        _learning_rate(recipe, total_steps),
        epsilon=recipe.adam_epsilon,
        use_ema=recipe.average_steps > 0,
        ema_momentum=1 - 1 / max(1, recipe.average_steps),
        average_every=max(1, recipe.average_steps // 30),  # 30 snapshots or more in the average
    )


def _learning_rate(recipe: Recipe, total_steps: int):
    if recipe.schedule == "constant":
        return recipe.learning_rate
    warmup = int(total_steps * recipe.warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=recipe.learning_rate / 10 if warmup else recipe.learning_rate,
        decay_steps=max(1, total_steps - warmup),
        warmup_target=recipe.learning_rate if warmup else None,
        warmup_steps=warmup,
    )


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
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(EVAL_BATCH)
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
        self._emit({"kind": "start", **self._base(time.perf_counter())})

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
            self._emit({"kind": "step", **self._base(now), **_floats(logs, "loss", "accuracy")})
            self.last_t, self.last_step = now, self.step
        if self.step >= self.plan.total_steps:
            self.model.stop_training = True  # a capped or step-based plan ends mid-round

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        event = {
            "kind": "eval",
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
                "kind": "end",
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
        self.history.append(event)
        for subscriber in self.subscribers:
            subscriber(event)


def _floats(logs, *keys) -> dict:
    return {k: float(logs[k]) for k in keys if logs and k in logs}
