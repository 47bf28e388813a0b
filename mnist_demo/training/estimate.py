"""How long a training will take on this server, said before Train is pressed.

The time from Train to the end on screen is start-up (a training process taking the work, the
network built and compiled), the training itself (its evaluations included) and the final test
on 10,000 digits; and, for a training that has to wait, what the trainings ahead have left. A
run sized by time (recipes' `budget_s`) trains for its budget on any CPU; a run sized by steps
takes them at the speed the last run of its kind showed here, once one has.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnist_demo.events import END, FINAL, PROGRESS, START

MIN_REFERENCE_S = 5.0  # a run that trained less than this is no speed reference ...
MIN_REFERENCE_SHARE = 0.2  # ... nor one stopped before this share of its schedule


@dataclass(frozen=True)
class Timing:
    """What one finished training showed: the parts of its time, and its speed."""

    start_s: float  # Train pressed -> the engine's clock starts
    train_s: float  # the engine's clock -> its last step (evaluations and tracing included)
    final_s: float  # the final test
    samples_per_s: float  # samples / train_s


# Before any training of a kind has finished here: a kept-warm process takes the work in about
# a second; the final test of 10,000 digits (measured on a 2-core AVX2 CPU, float32).
FIRST_GUESS = {"cnn": Timing(2.0, 0.0, 5.0, 0.0), "mlp": Timing(1.5, 0.0, 0.5, 0.0)}


def timing(events: list[dict], pressed_wall: float) -> Timing | None:
    """The timing of a finished run from its events; None when it is too short a reference."""
    by_kind = {e["kind"]: e for e in events if e["kind"] in (START, END)}
    progress = [e for e in events if e["kind"] in PROGRESS]
    if START not in by_kind or END not in by_kind or not progress:
        return None
    if any("wall" not in e for e in (by_kind[START], by_kind[END], progress[-1])):
        return None
    start, end, last = by_kind[START], by_kind[END], progress[-1]
    train_s = last["wall"] - start["wall"]
    share = last["step"] / max(1, last["total_steps"])
    if train_s < MIN_REFERENCE_S or (end.get("stopped") and share < MIN_REFERENCE_SHARE):
        return None
    final = [e for e in events if e["kind"] == FINAL]
    final_s = end["wall"] - (final[0]["wall"] if final else last["wall"])
    return Timing(
        start_s=max(0.0, start["wall"] - pressed_wall),
        train_s=train_s,
        final_s=max(0.0, final_s),
        samples_per_s=last["samples"] / train_s,
    )


@dataclass(frozen=True)
class Estimate:
    start_s: float
    train_s: float
    final_s: float
    ahead_s: float  # what the trainings ahead in line have left

    @property
    def total_s(self) -> float:
        return self.start_s + self.train_s + self.final_s + self.ahead_s


def estimate(recipe, last: Timing | None, ahead_s: float = 0.0) -> Estimate | None:
    """Train -> end on screen for `recipe`, from the `last` timing of its kind here; None when
    a run sized by steps has nothing measured to go by yet."""
    guess = FIRST_GUESS[recipe.model]
    start_s, final_s = (last or guess).start_s, (last or guess).final_s
    if recipe.budget_s is not None:
        train_s = recipe.budget_s
    elif last is not None and last.samples_per_s > 0:
        train_s = recipe.total_steps() * recipe.batch_size / last.samples_per_s
    else:
        return None
    return Estimate(start_s, train_s, final_s, ahead_s)
