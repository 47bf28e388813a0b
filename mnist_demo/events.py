"""The metric events the training engine emits, and how a front end reads them.

An event is a plain dict: "kind" (one of the four below), "step", "total_steps", "epoch",
"samples", "elapsed" (seconds of training) and "samples_per_s". Step and eval events add "loss"
and "accuracy" on the training batches; eval events add the held-out accuracy and loss as
"test_accuracy"/"test_loss" (the test set) or "val_accuracy"/"val_loss" (a validation split).
"""

from __future__ import annotations

START, STEP, EVAL, END = "start", "step", "eval", "end"
PROGRESS = (STEP, EVAL)  # the kinds that say how far a training has come
# The held-out accuracy an eval event may carry, and what a chart or a log calls it.
HELD_OUT = {"test_accuracy": "test", "val_accuracy": "validation"}


def fraction_done(e: dict) -> float:
    """How much of the schedule is done, in [0, 1]."""
    return min(1.0, e["step"] / max(1, e["total_steps"]))


def seconds_left(e: dict) -> float:
    """Time left at the rate so far (evaluations included, as they will recur)."""
    return (e["total_steps"] - e["step"]) * e["elapsed"] / max(1, e["step"])


def held_out_key(e: dict) -> str | None:
    """ "test_accuracy" or "val_accuracy", whichever the event carries; None for neither."""
    return next((k for k in HELD_OUT if k in e), None)
