"""The metric events the training engine emits, and how a front end reads them.

An event is a plain dict: "kind" (one of those below; the start event also names the "recipe",
the "model", its "batch_size" and "n_train", the digits an epoch passes over), "step", "total_steps", "epoch",
"samples", "elapsed" (seconds of training, pauses and evaluations left out), "samples_per_s" and
"wall" (the clock time it happened, time.time()) and "left_s" (seconds left, evaluations
included, or None until the speed is known: see reporter.py).
- start, step and rate events add "learning_rate" (the one the next step uses) and "lr_factor"
  (what the caller multiplied the recipe's by; a rate event says it changed);
- step events add "loss" and "accuracy": the means over the training batches since the last
  step event (not Keras' running mean, which restarts at every epoch);
- eval events add the held-out accuracy and loss on a fixed subset ("eval_images" of them) as
  "test_accuracy"/"test_loss" (the test set) or "val_accuracy"/"val_loss" (a validation split),
  and "panel" (the digits read for PANEL, in order), "panel_sure", and "drawing"/"drawing_sure"
  when the caller showed it a drawing;
- pause and resume events mark a pause ("paused_s": how long);
- final events count the end's evaluation on the whole test set ("done" of "total" images);
- the end event has "test_accuracy" and "test_loss" on all of it, and "stopped".
"""

from __future__ import annotations

START, STEP, EVAL, END = "start", "step", "eval", "end"
PAUSE, RESUME, RATE, FINAL = "pause", "resume", "rate", "final"
# The live panel: two digits of each class, 0 to 9, from the training set's last PANEL_TAIL (the
# tail the shipped networks were validated on), which no training trains on (engine.py leaves
# them out). Drawn at random (seed 0) among the tail's digits that both shipped networks read at
# 99% or more and four networks trained for a few seconds (two MLPs, 150 steps, 95% on the test
# set; two CNNs, 60 steps, 93%) read right: an untrained network misreads most, a trained one
# reads them, so the panel shows learning (benchmarks/live_panel.py says how they were chosen).
PANEL_TAIL = 3_000
_PAIRS = (  # positions in the tail, for the digits 0 to 9
    (1866, 2497),
    (749, 849),
    (105, 289),
    (1971, 2383),
    (1545, 1813),
    (1976, 2234),
    (1807, 2848),
    (2066, 2389),
    (1233, 2636),
    (52, 2243),
)
PANEL = tuple(i for pair in _PAIRS for i in pair)
PROGRESS = (STEP, EVAL)  # the kinds that say how far a training has come
# The held-out accuracy an eval event may carry, and what a chart or a log calls it.
HELD_OUT = {"test_accuracy": "test", "val_accuracy": "validation"}


def fraction_done(e: dict) -> float:
    """How much of the schedule is done, in [0, 1]."""
    return min(1.0, e["step"] / max(1, e["total_steps"]))


def seconds_left(e: dict) -> float | None:
    """Time left at the speed measured so far, evaluations included (they recur); None while
    the speed is not known well enough to say (the engine's "left_s")."""
    return e.get("left_s")


def held_out_key(e: dict) -> str | None:
    """ "test_accuracy" or "val_accuracy", whichever the event carries; None for neither."""
    return next((k for k in HELD_OUT if k in e), None)


CURVE_KINDS = (STEP, EVAL, PAUSE, RATE)
CURVE_FIELDS = (
    "kind",
    "step",
    "epoch",
    "samples",
    "learning_rate",
    "loss",
    "accuracy",
    "test_accuracy",
    "test_loss",
    "val_accuracy",
    "val_loss",
    "lr_factor",
)


def curves(events: list[dict]) -> list[dict]:
    """What a run's charts are drawn from, and nothing else (no live panel, no timings): kept with
    a saved model, so that choosing it later shows how it learned."""
    return [{k: e[k] for k in CURVE_FIELDS if k in e} for e in events if e["kind"] in CURVE_KINDS]


def paused_now(events) -> bool:
    """Whether the events say the training holds now: its last pause not yet resumed."""
    last = next((e for e in reversed(events) if e["kind"] in (PAUSE, RESUME)), None)
    return last is not None and last["kind"] == PAUSE


def lr_factor_now(events) -> float:
    """The learning-rate factor the last event that carries one says is in effect."""
    return next((e["lr_factor"] for e in reversed(events) if "lr_factor" in e), 1.0)


def panel_indices(n_train: int) -> list[int]:
    """The panel's digits in a training set of `n_train`: positions in its last PANEL_TAIL; none
    in a set smaller than that (a slice: tests, --limit)."""
    start = n_train - PANEL_TAIL
    return [start + i for i in PANEL] if start >= 0 else []


def panel_images(data):
    """(x uint8 (20, 28, 28), y) of the panel's digits in `data` (an Mnist); in a slice without
    the tail, its first 20 test digits (no training trains on those either)."""
    pick = panel_indices(len(data.x_train))
    if pick:
        return data.x_train[pick], data.y_train[pick]
    return data.x_test[: len(PANEL)], data.y_test[: len(PANEL)]
