"""How a recipe becomes a schedule: steps, rounds between reports, steps per call, and its Adam.

Keras trains in "epochs"; here a round is the stretch between two held-out reports (a Keras epoch
of `steps_per_round` steps), whatever the recipe counts in: steps or passes over the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras

from mnist_demo.training.budget import FittedCosine, guess_steps
from mnist_demo.training.optimizer import FusedAdam
from mnist_demo.training.recipes import Recipe


@dataclass(frozen=True)
class Plan:
    steps_per_round: int  # Keras "epoch": steps between validation reports
    rounds: int
    total_steps: int
    steps_per_execution: int  # divides the rounds and the last round's length


def plan_steps(recipe: Recipe, n_train: int, max_steps: int | None = None) -> Plan:
    """How many steps, in how many rounds between reports, and how many steps per call."""
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
    return Plan(per_round, rounds, total, spe)


def make_optimizer(recipe: Recipe, total_steps: int) -> FusedAdam:
    """The recipe's Adam: its learning rate (and schedule over `total_steps`), epsilon and
    weight averaging."""
    rate = _learning_rate(recipe, total_steps)
    optimizer = FusedAdam(
        rate,
        epsilon=recipe.adam_epsilon,
        use_ema=recipe.average_steps > 0,
        ema_momentum=1 - 1 / max(1, recipe.average_steps),
        average_every=max(1, recipe.average_steps // 30),  # 30 snapshots or more in the average
    )
    # A budgeted run's length is fitted as it goes: the reporter moves this schedule's end.
    optimizer.fitted_schedule = rate if isinstance(rate, FittedCosine) else None
    return optimizer


def _learning_rate(recipe: Recipe, total_steps: int):
    if recipe.budget_s:
        return FittedCosine(
            recipe.learning_rate, recipe.warmup_fraction, guess_steps(recipe, total_steps)
        )
    if recipe.schedule == "constant":
        return recipe.learning_rate
    warmup = int(total_steps * recipe.warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=recipe.learning_rate / 10 if warmup else recipe.learning_rate,
        decay_steps=max(1, total_steps - warmup),
        warmup_target=recipe.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
