"""Timing two ways of computing the same gradient, once per shape in a process, to keep the faster.

The training networks' layers (conv.py, convpool.py, dense.py, pool.py) each have a gradient
that some CPUs compute faster one way and others the other way; which one wins is measured here,
not guessed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

import tensorflow as tf

TIMED_RUNS = 5
Choice = TypeVar("Choice")


def remembered(
    choices: dict, key: tuple, measure: Callable[[], Choice], unmeasured: Choice
) -> Choice:
    """choices[key], measured (eagerly, even while a training step is being traced) the first
    time; `unmeasured` (TensorFlow's own way) when the input's shape is known only when it runs:
    its first element, the input's shape, holds a None."""
    if key not in choices:
        if None in key[0]:
            return unmeasured
        with tf.init_scope():
            choices[key] = measure()
    return choices[key]


def median_times(ways: dict[str, Callable[[], tf.Tensor]]) -> dict[str, float]:
    """Each way's median time in seconds over TIMED_RUNS calls, the ways interleaved (a busy
    moment slows them all alike); a first round traces and warms each up."""
    compiled = {name: tf.function(way) for name, way in ways.items()}
    times: dict[str, list[float]] = {name: [] for name in compiled}
    for _ in range(TIMED_RUNS + 1):
        for name, way in compiled.items():
            t = time.perf_counter()
            way().numpy()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(runs[1:]) for name, runs in times.items()}
