"""A network kept traced from a rehearsal (training/kept.py) trains exactly as a fresh one."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_demo.data import Mnist
from mnist_demo.training import engine, kept
from mnist_demo.training.recipes import get_recipe
from mnist_demo.training.schedule import plan_steps


# The CNN without its augmentation: its random draws differ even between two fresh runs.
@pytest.mark.parametrize(
    ("kind", "changes", "steps"), [("mlp", {}, 18), ("cnn", {"augment": False}, 8)]
)
def test_a_kept_network_trains_as_a_fresh_one_would(small, kind, changes, steps):
    # A few calls in a budget of an hour: their length does not depend on this machine's speed.
    recipe = get_recipe(kind, "class").with_(seed=3, budget_s=3600, **changes)
    kept.clear()
    fresh = engine.train(recipe, small, max_steps=steps)
    # A rehearsal on blank digits (another seed, as a kept-warm process does), kept...
    blank, zeros = np.zeros((2048, 28, 28), np.uint8), np.zeros(2048, np.uint8)
    blanks = Mnist(blank, zeros, blank[:16], zeros[:16], source="blank")
    spe = plan_steps(recipe, len(small.x_train), steps).steps_per_execution
    rehearsal = engine.train(recipe.with_(seed=0), blanks, max_steps=spe, keep=True)
    # ...then the same training again: it takes the rehearsal's network (its float32 copy is
    # the one the result goes into) and must end where the fresh network ended.
    again = engine.train(recipe, small, max_steps=steps)
    assert again.model is rehearsal.model and not kept._KEPT  # taken, once
    assert again.steps == fresh.steps == steps
    for a, b in zip(again.model.get_weights(), fresh.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert again.test_accuracy == fresh.test_accuracy
    if kind == "cnn":
        return
    # A run that is not the kept one's (another batch size) builds its own.
    rehearsal = engine.train(recipe.with_(seed=0), blanks, max_steps=spe, keep=True)
    other = engine.train(recipe.with_(batch_size=recipe.batch_size // 2), small, max_steps=steps)
    assert other.model is not rehearsal.model and len(kept._KEPT) == 1
    kept.clear()


def test_a_rehearsal_stops_where_work_has_come():
    from mnist_demo.serving.warm import rehearse

    kept.clear()
    rehearse(given=lambda: True)  # a process spawned for a training already waiting
    assert not kept._KEPT
    asked = []

    def after_the_mlp() -> bool:  # work comes once the MLP is rehearsed
        asked.append(len(asked))
        return len(asked) > 1

    rehearse(given=after_the_mlp)
    assert [key[0].model for key in kept._KEPT] == ["mlp"] and len(asked) == 2
    kept.clear()
