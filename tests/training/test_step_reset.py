"""Step and Reset: while paused, Step trains exactly one evaluation stretch and holds again; Reset
goes back to the run's first weights, those of a fresh network of the same seed."""

from __future__ import annotations

import keras
import numpy as np

import mnist_demo.training.reporter as reporter
from mnist_demo.data import to_float
from mnist_demo.nets.models import build_model
from mnist_demo.training.control import Control
from mnist_demo.training.engine import train
from mnist_demo.training.recipes import get_recipe

STRETCH = 5  # steps between two evaluations


def recipe(seed=123):
    return get_recipe("mlp", "fast").with_(
        steps=200, epochs=None, batch_size=50, eval_every=STRETCH, steps_per_execution=1,
        precision="float32", seed=seed,
    )  # fmt: skip


def fresh_network(r):
    """A network of the recipe's seed, built here as a first-time training builds it."""
    keras.utils.set_random_seed(r.seed)
    return build_model(r.model, "float32", training=True, init=r.init)


def probabilities(model, x) -> np.ndarray:
    return np.asarray(model(to_float(x), training=False))


def test_step_runs_one_stretch_and_reset_goes_back_to_the_first_weights(small, monkeypatch):
    monkeypatch.setattr(reporter, "EMIT_INTERVAL_S", 0.0)  # a step event at every step
    control, seen = Control(), []
    # What the person presses at each hold: Step, Step, Reset, then Stop once it holds again.
    presses = iter([control.step, control.step, control.reset, lambda: control.apply(("stop",))])

    def watch(event):
        seen.append(event)
        if event["kind"] == "pause":
            next(presses)()  # pressed while the training holds, before it waits

    control.pause()  # paused before the first step: the run holds after its first evaluation
    r = recipe()
    result = train(r, small, subscribers=[watch], control=control)

    holds = [e["step"] for e in seen if e["kind"] == "pause"]
    assert holds == [0, STRETCH, 2 * STRETCH, 0]
    # Between two holds: the stretch's steps, one at a time, and exactly one evaluation, its last.
    first, second = [i for i, e in enumerate(seen) if e["kind"] == "pause"][:2]
    stretch = seen[first + 1 : second]
    assert [e["step"] for e in stretch if e["kind"] == "step"] == list(range(1, STRETCH + 1))
    evals = [e for e in stretch if e["kind"] == "eval"]
    assert [e["step"] for e in evals] == [STRETCH] and stretch[-1] is evals[0]
    # The reset began a new run: a new start, and its first reading is the very first one's.
    starts = [i for i, e in enumerate(seen) if e["kind"] == "start"]
    assert len(starts) == 2
    before = [e for e in seen[: starts[1]] if e["kind"] == "eval"]
    after = [e for e in seen[starts[1] :] if e["kind"] == "eval"]
    assert before[0]["test_loss"] != before[-1]["test_loss"]  # the steps did train
    assert after[0]["step"] == 0 and after[0]["test_loss"] == before[0]["test_loss"]
    assert after[0]["panel"] == before[0]["panel"]
    # Stopped at once after the reset: the model is the fresh network of the same seed.
    assert result.steps == 0
    x = small.x_test[:300]
    want = probabilities(fresh_network(r), x)
    np.testing.assert_allclose(probabilities(result.model, x), want, atol=1e-6)
    # ... and not that of another seed (the comparison can tell them apart).
    other = probabilities(fresh_network(recipe(seed=124)), x)
    assert np.abs(other - want).max() > 1e-3
