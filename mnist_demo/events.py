"""The metric events the training engine emits, and how a front end reads them.

An event is a plain dict: "kind" (one of those below), "step", "total_steps", "epoch",
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
# The live panel: two test digits of each class, 0 to 9, in MNIST's test set. The first of each
# pair the shipped networks read at over 99%; the second is the one of that class the shipped MLP
# was least sure of among those the shipped CNN still reads right (a hard but fair one).
_PAIRS = (  # (easy, hard) for the digits 0 to 9
    (3, 4880),
    (2, 6883),
    (1, 9768),
    (30, 1681),
    (4, 9669),
    (15, 9770),
    (11, 3520),
    (0, 9009),
    (61, 1530),
    (7, 3985),
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
