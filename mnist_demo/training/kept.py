"""Networks kept compiled and traced for the next training in this process.

A training process rehearses the class recipes before it is given work (serving/warm.py). Without
this, the training it is then given builds a new network and Keras traces its step again: 3-4 s
of the CNN's first step on a 2-core AVX2 CPU. With it, the rehearsal's network is kept with its
traced step, evaluation and float32 copy, and the next training of the same recipe (any seed,
any budget) takes it: the fresh network's weights are copied in and the optimizer is put back to
its first state, so that the run is the one a new network would give.

Only runs sized by time are kept: their schedule's length is a variable (budget.py), so one trace
serves any budget. A kept network serves one training, once: it is taken out when used.
"""

from __future__ import annotations

from dataclasses import dataclass

_KEPT: dict[tuple, Kept] = {}


@dataclass
class Kept:
    model: object  # the training network, compiled, its step traced
    portable: tuple  # (float32 network, its traced inference): what the result goes into
    optimizer: list  # the optimizer's variables as they were before its first step


def signature(recipe, precision: str, steps_per_execution: int) -> tuple | None:
    """What a kept network must match to be taken: everything traced into its step. None for a
    run whose length is a number of steps (its schedule's length is traced in)."""
    if not recipe.budget_s:
        return None
    return recipe.with_(seed=0, budget_s=1.0), precision, steps_per_execution


def keep(key: tuple | None, model, portable: tuple, optimizer: list) -> None:
    if key is not None:
        _KEPT[key] = Kept(model, portable, optimizer)


def take(key: tuple | None, fresh, portable: tuple | None = None) -> tuple | None:
    """(network, portable) for a training that built `fresh`: the kept network under `key`
    with fresh's weights and its optimizer's first state, and the kept portable unless one is
    given; None when none is kept."""
    kept = _KEPT.pop(key, None) if key is not None else None
    if kept is None:
        return None
    for variable, value in zip(kept.model.variables, fresh.variables):  # dropout's seeds too
        variable.assign(value)
    for variable, value in zip(kept.model.optimizer.variables, kept.optimizer):
        variable.assign(value)
    return kept.model, portable or kept.portable


def clear() -> None:
    _KEPT.clear()
