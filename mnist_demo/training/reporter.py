"""The engine's eyes and hands inside Keras' fit: metric events, evaluations, pause and step,
rate, stop and reset.

Training curves: Keras' logs hold a running mean since the start of the epoch, which restarts at
every epoch (the curve fell off a cliff there). Each step event carries the mean of the batches
since the last event instead, recovered exactly from the running means: no reset, no lag.

Held-out curves: a fixed subset of the held-out images (EVAL_IMAGES) is evaluated every
`eval_steps` steps and at the end of every round, in this thread, between two steps: the weights
cannot change under it. The same call reads the live panel's digits and the caller's drawing
(readings.py); the first comes before the first step.

Pause holds the training after the step (and evaluation) under way; Step, while paused, trains to
the next evaluation and holds again; a reset ends this fit, and the engine starts again from the
first weights with a new Reporter.
"""

from __future__ import annotations

import math
import time
from collections import deque

import keras

from mnist_demo.errors import TrainingDiverged
from mnist_demo.events import END, EVAL, FINAL, PAUSE, RATE, RESUME, START, STEP
from mnist_demo.training.budget import BudgetFit, Speed
from mnist_demo.training.control import Control
from mnist_demo.training.losses import CROSS_ENTROPY
from mnist_demo.training.readings import Readings

Event = dict  # see events.py
EMIT_INTERVAL_S = 0.5  # a step event at most this often: reading metrics forces a device sync
EVAL_IMAGES = 2_000  # held-out images per evaluation during training; the end uses all of them
# ... and before the first step, the first of them: a fresh network guesses (about 90% wrong),
# which 500 digits tell within two points, in a quarter of the time (the CNN's first point and
# first step came 0.9 s after the run's start on two AVX2 cores with 2,000).
FIRST_EVAL_IMAGES = 500
EVALS_PER_EPOCH = 4  # for recipes that do not say how often to evaluate
EVALS_PER_BUDGET = 6  # for a run sized by time: a held-out point every ~10 s of a CNN minute


class Reporter(keras.callbacks.Callback):
    def __init__(self, recipe, plan, n_train, subscribers, control: Control, held_out, panel):
        super().__init__()
        self.recipe, self.plan, self.n_train = recipe, plan, n_train
        self.subscribers, self.control = list(subscribers), control
        self.history: deque[Event] = deque(maxlen=20_000)
        self.step = self.round = self.last_step = self.last_eval = 0
        self.t0 = self.last_t = time.perf_counter()
        self.rate = 0.0  # samples/s between the last two step events
        self.eval_steps = recipe.eval_every or max(
            1, n_train // recipe.batch_size // EVALS_PER_EPOCH
        )
        val_key = "test" if recipe.validation == "test" else "val"
        self.readings = Readings(held_out, panel, val_key)
        self.stepping = False  # a Step runs until the next evaluation
        self.lr_factor = 1.0
        self.total_steps = plan.total_steps  # a budgeted run's moves as its speed is measured
        self.budget: BudgetFit | None = None
        self.speed = Speed()  # steps per second past the first call, for time left
        self.eval_seconds = 0.0  # spent evaluating during training, for the benchmark
        self._sums = (0, 0.0, 0.0)  # (steps, loss sum, accuracy sum) this round, at the last event
        self._last_held_out = (float("nan"), float("nan"))

    def start(self, model) -> None:
        self.set_model(model)
        self.readings.trace(model)
        if self.recipe.budget_s:
            schedule = getattr(model.optimizer, "fitted_schedule", None)
            self.budget = BudgetFit(self.recipe, self.plan.total_steps, schedule, self.speed)
            self._set_total(self.budget.total)
        self.t0 = self.last_t = time.perf_counter()
        start = {
            "kind": START,
            "recipe": self.recipe.name,
            "model": self.recipe.model,
            "batch_size": self.recipe.batch_size,
            "n_train": self.n_train,
        }
        self._emit({**start, **self._base(time.perf_counter()), **self._rate_now()})
        # Before the first step: the curves start at the network as it is (a fresh one guesses,
        # about 90% wrong) and the live panel shows it misreading, so that learning shows.
        self._evaluate(FIRST_EVAL_IMAGES)
        self._hold_if_paused()  # a run reset while paused holds before its first step

    def on_epoch_begin(self, epoch, logs=None):
        self.round = epoch
        self._sums = (0, 0.0, 0.0)

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the last step of this call (several with steps_per_execution > 1).
        self.step = self.round * self.plan.steps_per_round + batch + 1
        control = self.control
        now = time.perf_counter()
        self.speed.start(self.step, now)  # the first call traced and warmed up: from its end
        if self.budget is not None:
            self._set_total(self.budget.update(self.step, now))
        if now - self.last_t >= EMIT_INTERVAL_S or self.step >= self.total_steps:
            self._emit_step(batch + 1, logs, now)
        if self.step - self.last_eval >= self.eval_steps and not control.stop.is_set():
            self._evaluate()
        if self.step >= self.total_steps:
            self.model.stop_training = True  # a capped or step-based plan ends mid-round
        else:
            self._hold_if_paused()
        if control.lr_factor != self.lr_factor:
            self._set_rate(control.lr_factor)
        if control.stop.is_set() or control.reset_asked:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.control.stop.is_set() or self.control.reset_asked:
            return  # a stop ends the run now: the final evaluation follows at once
        if self.last_eval != self.step:
            self._evaluate()
            self._hold_if_paused()
        if logs is not None:  # for EarlyStopping, which reads the logs after this callback
            logs["val_loss"], logs["val_accuracy"] = self._last_held_out

    def finish(self, test_loss: float, test_accuracy: float, seconds: float) -> None:
        self._emit(
            {
                "kind": END,
                **self._base(time.perf_counter()),
                "elapsed": seconds,
                "test_accuracy": test_accuracy,
                "test_loss": test_loss,
                "stopped": self.step < self.total_steps,
                "eval_seconds": self.eval_seconds,
            }
        )

    def final_progress(self, done: int, total: int) -> None:
        """The final evaluation's progress: `done` of `total` test images read."""
        self._emit({"kind": FINAL, **self._base(time.perf_counter()), "done": done, "total": total})

    def _emit_step(self, steps_in_round: int, logs, now: float) -> None:
        dt = now - self.last_t
        self.rate = (self.step - self.last_step) * self.recipe.batch_size / dt if dt else 0.0
        event = {"kind": STEP, **self._base(now), **self._rate_now()}
        n0, loss0, acc0 = self._sums
        if logs and "loss" in logs and steps_in_round > n0:
            # Keras' logs are means over the round so far: the sums tell this stretch's mean.
            # A smoothed loss is not the held-out curve's: the plain cross-entropy is shown.
            loss1 = float(logs.get(CROSS_ENTROPY, logs["loss"])) * steps_in_round
            acc1 = float(logs.get("accuracy", 0.0)) * steps_in_round
            event["loss"] = (loss1 - loss0) / (steps_in_round - n0)
            event["accuracy"] = (acc1 - acc0) / (steps_in_round - n0)
            self._sums = (steps_in_round, loss1, acc1)
        self._emit(event)
        self.last_t, self.last_step = now, self.step

    def _evaluate(self, images: int | None = None) -> None:
        """Held-out loss and accuracy on the fixed subset (its first `images`), the panel and
        the drawing, now."""
        t = time.perf_counter()
        loss, acc, fields = self.readings.read(self.control.drawing, images)
        self._last_held_out = (loss, acc)
        self.last_eval, self.stepping = self.step, False  # a Step ends here
        self._emit({"kind": EVAL, **self._base(time.perf_counter()), **fields})
        spent = time.perf_counter() - t
        self.eval_seconds += spent
        self.t0 += spent  # evaluating is not training: elapsed time and rates leave it out
        self.last_t += spent

    def _hold_if_paused(self) -> None:
        """Hold here while paused (not during a Step's stretch, nor once stopped or reset)."""
        control = self.control
        if not control.paused or self.stepping or control.stop.is_set() or control.reset_asked:
            return
        t = time.perf_counter()
        self._emit({"kind": PAUSE, **self._base(t), **self._rate_now()})
        self.stepping = control.wait_while_paused()
        paused = time.perf_counter() - t
        self.t0 += paused  # a pause is not training time
        (self.budget or self.speed).pause(paused)  # a budget tells its speed too
        self.last_t += paused
        resume = {"kind": RESUME, **self._base(time.perf_counter()), "paused_s": paused}
        self._emit({**resume, "step_asked": True} if self.stepping else resume)

    def _set_total(self, total: int) -> None:
        self.total_steps = total
        self.eval_steps = max(1, total // EVALS_PER_BUDGET)

    def _set_rate(self, factor: float) -> None:
        self.model.optimizer.lr_scale.assign(factor)
        self.lr_factor = factor
        self._emit({"kind": RATE, **self._base(time.perf_counter()), **self._rate_now()})

    def _rate_now(self) -> dict:
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "lr_scale"):
            return {}
        return {"learning_rate": optimizer.current_rate(), "lr_factor": self.lr_factor}

    def _base(self, now: float) -> Event:
        return {
            "step": self.step,
            "total_steps": self.total_steps,
            "epoch": self.step * self.recipe.batch_size / self.n_train,
            "samples": self.step * self.recipe.batch_size,
            "elapsed": now - self.t0,
            "samples_per_s": self.rate,
            "wall": time.time(),  # the clock time it happened: how late a page sees it
            "left_s": self._left_s(now),
        }

    def _left_s(self, now: float) -> float | None:
        """Seconds left, evaluations included; None until the speed has been measured for
        FIT_AFTER_S past the first call (which traces: a rate from it was 10x off)."""
        if self.budget is not None:
            return self.budget.seconds_left(now) if self.budget.fitted else None
        steps_per_s = self.speed.steps_per_s(self.step, now)
        return None if steps_per_s is None else (self.total_steps - self.step) / steps_per_s

    def _emit(self, event: Event) -> None:
        if not math.isfinite(event.get("loss", 0.0)):  # nothing useful can come after this
            raise TrainingDiverged(
                f"the training diverged at step {self.step:,} (the loss is no longer a number): "
                "try a lower learning rate"
            )
        self.history.append(event)
        for subscriber in self.subscribers:
            subscriber(event)
