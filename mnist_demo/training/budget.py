"""Trainings sized by time: the schedule's length fitted to the speed this CPU shows.

A recipe with `budget_s` trains for about that many seconds (its evaluations included) on any
CPU. It starts from a guess of its length; from FIT_AFTER_S of measured steps on, at every step
event, the length becomes the steps done plus what the rest of the budget holds at the speed
measured since then. The learning rate follows a warm-up and a cosine decay over that length
(FittedCosine reads it from a variable), so that the run ends at a rate near zero, on time.
"""

from __future__ import annotations

import math
import time

import keras
import tensorflow as tf

FIT_AFTER_S = 1.5  # measured steps before the first fit: the first call traces and warms up
# Before anything is measured: a fast CPU's speed (2 AMX cores, bfloat16). A slower CPU is fitted
# down within its warm-up; a guess below the CPU's speed ended small runs at the guess.
GUESS_SAMPLES_PER_S = {"cnn": 5_000.0, "mlp": 30_000.0}


class FittedCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up over `warmup_fraction` of `total_steps`, then cosine decay to 0 at it;
    `total_steps` is a variable that BudgetFit moves as the speed becomes known."""

    def __init__(self, peak: float, warmup_fraction: float, total_steps: float):
        self.peak, self.warmup_fraction = peak, warmup_fraction
        self.total_steps = tf.Variable(float(total_steps), trainable=False, dtype="float32")

    def __call__(self, step):
        step = tf.cast(step, "float32")
        total = tf.maximum(self.total_steps, 1.0)
        warm = tf.maximum(self.warmup_fraction * total, 1.0)
        rising = self.peak * (0.1 + 0.9 * step / warm)
        done = tf.clip_by_value((step - warm) / tf.maximum(total - warm, 1.0), 0.0, 1.0)
        falling = self.peak * 0.5 * (1.0 + tf.cos(math.pi * done))
        return tf.where(step < warm, rising, falling)

    def get_config(self):
        total = float(self.total_steps.numpy())
        return {"peak": self.peak, "warmup_fraction": self.warmup_fraction, "total_steps": total}


def guess_steps(recipe, cap: int) -> int:
    """The schedule's length before any speed is measured."""
    rate = GUESS_SAMPLES_PER_S[recipe.model]
    return max(1, min(cap, int(recipe.budget_s * rate / recipe.batch_size)))


class Speed:
    """Steps per second since the end of a run's first call (which traces the graph), pauses
    left out: None until FIT_AFTER_S of steps are measured."""

    def __init__(self):
        self.mark: tuple[float, int] | None = None  # (time, step) the speed is measured from

    def pause(self, seconds: float) -> None:
        if self.mark is not None:
            self.mark = (self.mark[0] + seconds, self.mark[1])

    def start(self, step: int, now: float) -> None:
        """Measure from here (the first call's end), unless already measuring."""
        if self.mark is None:
            self.mark = (now, step)

    def steps_per_s(self, step: int, now: float) -> float | None:
        if self.mark is None:
            return None
        t0, s0 = self.mark
        if now - t0 < FIT_AFTER_S or step <= s0:
            return None
        return (step - s0) / (now - t0)


class BudgetFit:
    """Fits a budgeted run's length from its measured speed; `total` is the current length."""

    def __init__(self, recipe, cap: int, schedule: FittedCosine | None, speed: Speed | None = None):
        self.budget_s, self.cap, self.schedule = recipe.budget_s, cap, schedule
        self.speed = speed or Speed()
        self.total = guess_steps(recipe, cap)
        self.t_start = time.perf_counter()  # the run's wall clock: evaluations count
        self.fitted = False
        self._set(self.total)

    def pause(self, seconds: float) -> None:
        """A pause is not part of the budget, nor of the speed."""
        self.t_start += seconds
        self.speed.pause(seconds)

    def seconds_left(self, now: float) -> float:
        return max(0.0, self.budget_s - (now - self.t_start))

    def update(self, step: int, now: float) -> int:
        """After `step` steps at time `now`: the length to train for."""
        self.speed.start(step, now)
        steps_per_s = self.speed.steps_per_s(step, now)
        if steps_per_s is None:
            if step >= self.total and not self.fitted and self.seconds_left(now) > 0:
                # A CPU faster than the guess reached its end before the speed was measured:
                # the guess never ends a run while its budget lasts.
                self.total = min(self.cap, 2 * self.total)
                self._set(self.total)
            return self.total
        total = max(step, min(self.cap, step + int(self.seconds_left(now) * steps_per_s)))
        self.fitted = True
        if total != self.total:
            self.total = total
            self._set(total)
        return total

    def _set(self, total: int) -> None:
        if self.schedule is not None:
            self.schedule.total_steps.assign(float(total))
