"""Trainings sized by time (budget.py), the CNN's faster convolution gradients (conv.py), honest
time-left figures and estimates (estimate.py)."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import mnist_demo.nets.conv as conv
import mnist_demo.training.budget as budget
from mnist_demo.events import seconds_left
from mnist_demo.nets.conv import conv2d_same
from mnist_demo.nets.models import build_model
from mnist_demo.training.budget import BudgetFit, FittedCosine
from mnist_demo.training.engine import train
from mnist_demo.training.estimate import Timing, estimate, timing
from mnist_demo.training.recipes import get_recipe
from tests.nets.ways import count_measures, later

WAYS = [(True, True), (False, False), (True, False)]  # (input's, kernel's) as forward convs


@pytest.mark.parametrize("shape", [(3, 14, 14, 32, 64), (2, 9, 7, 3, 5)])
@pytest.mark.parametrize("ways", WAYS)
def test_the_training_convolution_has_autodiffs_gradients(shape, ways, monkeypatch):
    monkeypatch.setattr(conv, "choose", lambda *shapes: ways)
    n, h, w, c_in, c_out = shape
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(n, h, w, c_in)), tf.float32)
    kernel = tf.constant(rng.normal(size=(5, 5, c_in, c_out)), tf.float32)
    grads = []
    for way in (conv2d_same, lambda a, k: tf.nn.conv2d(a, k, 1, "SAME")):  # the reference
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            y = way(x, kernel)
            loss = tf.reduce_sum(tf.sin(y) * y)  # a gradient that differs at every output
        grads.append([g.numpy() for g in tape.gradient(loss, [x, kernel])])
        outputs = y.numpy()
    (dx, dk), (ref_dx, ref_dk) = grads
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-3, atol=1e-3 * np.abs(ref_dx).max())
    np.testing.assert_allclose(dk, ref_dk, rtol=1e-3, atol=1e-3 * np.abs(ref_dk).max())
    assert outputs.shape == (n, h, w, c_out)


def test_each_gradient_takes_the_faster_way_measured_once(monkeypatch):
    monkeypatch.setattr(conv, "_native_kernel_gradient", later(conv._native_kernel_gradient))
    calls = count_measures(conv, monkeypatch)
    shapes = ((4, 14, 14, 32), (5, 5, 32, 64), tf.float32)
    _, kernel_forward = conv.choose(*shapes)
    assert kernel_forward  # the forward-convolution way beat a native one 50 ms slower
    assert conv.choose(*shapes) == conv.choose(*shapes) and len(calls) == 1
    assert conv.choose((None, 14, 14, 32), (5, 5, 32, 64), tf.float32) == (False, False)
    assert len(calls) == 1  # an unknown batch is not measured: TensorFlow's own kernels


def test_the_trained_network_moves_into_the_plain_one():
    trained, plain = build_model("cnn", training=True), build_model("cnn")
    plain.set_weights(trained.get_weights())
    x = np.random.default_rng(1).random((4, 28, 28, 1), np.float32)
    # conv1 may go by blocks where that is faster (convpool.py): its float32 sums then come in
    # another order: up to 4e-6 apart in these probabilities, over 30 random inputs.
    np.testing.assert_allclose(plain(x), trained(x), atol=2e-5)
    assert [w.shape for w in trained.weights] == [w.shape for w in plain.weights]


def test_the_training_network_has_the_plain_networks_gradients():
    """Pooled before its bias and relu, the training network still computes the plain one's
    numbers and gradients: on digits with blank paper (windows of equal values) and biases of
    either sign (relu cutting some windows whole)."""
    trained, plain = build_model("cnn", training=True), build_model("cnn")
    rng = np.random.default_rng(2)
    weights = [
        rng.normal(0, 0.05, w.shape).astype(np.float32) if w.ndim == 1 else w
        for w in trained.get_weights()
    ]  # biases of either sign
    trained.set_weights(weights)
    plain.set_weights(weights)
    x = np.zeros((6, 28, 28, 1), np.float32)
    x[:, 8:20, 10:18] = rng.random((6, 12, 8, 1)) > 0.5  # ink on blank paper, saturated
    y = tf.constant([0, 1, 2, 3, 4, 5])
    grads = []
    for model in (trained, plain):
        with tf.GradientTape() as tape:
            loss = keras.losses.sparse_categorical_crossentropy(y, model(x, training=False))
        grads.append(tape.gradient(loss, model.trainable_weights))
        np.testing.assert_allclose(trained(x), plain(x), atol=2e-5)  # as above
    for got, want in zip(*grads):  # float32 sums in another order: close to their scale
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * float(np.abs(want).max()))


def cosine_reference(step, peak, warm_fraction, total):
    """The schedule written out in plain Python."""
    warm = max(warm_fraction * total, 1.0)
    if step < warm:
        return peak * (0.1 + 0.9 * step / warm)
    done = min(1.0, max(0.0, (step - warm) / max(total - warm, 1.0)))
    return peak * 0.5 * (1 + math.cos(math.pi * done))


def test_the_fitted_schedule_follows_its_moving_end():
    schedule = FittedCosine(3e-3, 0.05, 400)
    for total in (400, 250, 1000):
        schedule.total_steps.assign(float(total))
        for step in (0, 5, 12, 20, 100, 240, total - 1, total, total + 50):
            want = cosine_reference(step, 3e-3, 0.05, total)
            assert float(schedule(step)) == pytest.approx(want, rel=1e-5, abs=1e-9)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_budget_fits_the_length_to_the_measured_speed(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(budget.time, "perf_counter", clock)
    recipe = get_recipe("cnn", "class").with_(budget_s=60.0)
    fit = BudgetFit(recipe, cap=10_000, schedule=None)
    assert fit.total == int(60 * budget.GUESS_SAMPLES_PER_S["cnn"] / recipe.batch_size)
    clock.now = 3.0  # the first call traced for 3 s and did 4 steps
    assert fit.update(4, clock.now) == fit.total and not fit.fitted
    clock.now = 3.0 + budget.FIT_AFTER_S + 0.5  # then 5 steps per second
    steps = 4 + 10
    total = fit.update(steps, clock.now)
    assert fit.fitted
    assert total == steps + int((60 - clock.now) * 5)  # the rest of the budget at that speed
    clock.now = 30.0
    fit.pause(10.0)  # ten seconds of pause are not part of the budget, nor of the speed
    steps = 4 + 5 * (30 - 3 - 10)  # 5 steps a second of training since the first call
    assert fit.update(steps, clock.now) == steps + int((60 - (30 - 10)) * 5)
    clock.now = 75.0  # past the budget: it ends now
    assert fit.update(500, clock.now) == 500


def test_a_cpu_faster_than_the_guess_does_not_end_at_the_guess(monkeypatch):
    """Before its speed is measured a run may reach its guessed length (a fast CPU, a small
    batch): the length then doubles while the budget lasts, and the fit takes over later."""
    clock = Clock()
    monkeypatch.setattr(budget.time, "perf_counter", clock)
    recipe = get_recipe("cnn", "class").with_(budget_s=4.0, batch_size=32)
    fit = BudgetFit(recipe, cap=100_000, schedule=None)
    guess = fit.total
    assert guess == int(4.0 * budget.GUESS_SAMPLES_PER_S["cnn"] / 32)
    clock.now = 0.9  # the first call traced
    assert fit.update(1, clock.now) == guess
    clock.now = 2.0  # not measured for FIT_AFTER_S yet, and at the guess already
    assert fit.update(guess, clock.now) == 2 * guess and not fit.fitted
    clock.now = 5.0  # the budget is spent: nothing more to add
    assert fit.update(2 * guess, clock.now) == 2 * guess


def test_a_class_run_ends_on_time_with_its_rate_near_zero(small):
    """A 4-second CNN budget: the run ends about then, having trained the steps its measured
    speed allowed, and its learning rate decayed to (nearly) nothing."""
    events = []
    recipe = get_recipe("cnn", "class").with_(budget_s=4.0, batch_size=32, epochs=20,
                                              steps_per_execution=1)  # fmt: skip
    res = train(recipe, small, subscribers=[events.append])
    start, end = events[0], events[-1]
    trained_s = [e for e in events if e["kind"] in ("step", "eval")][-1]["wall"] - start["wall"]
    # It trained its budget and then ended: not at its cap (20 epochs), not before the time was
    # up; the slack is for a last step and evaluation on a busy machine.
    assert 3.5 <= trained_s <= 4.0 + 6.0
    assert not res.stopped and res.steps == end["total_steps"] < 20 * (2000 // 32) // 2
    steps = [e for e in events if e["kind"] == "step"]
    assert steps[-1]["learning_rate"] < 0.05 * recipe.learning_rate
    # Every step event's rate is the warm-up and cosine written out in Python at that event's
    # length: the schedule followed its moving end. (Whether it reached its peak depends on the
    # CPU: on a slow one a 4 s budget's fit comes after the fitted warm-up.)
    for e in steps:
        want = cosine_reference(
            e["step"], recipe.learning_rate, recipe.warmup_fraction, e["total_steps"]
        )
        assert e["learning_rate"] == pytest.approx(want, rel=1e-4, abs=1e-9), e
    assert max(e["learning_rate"] for e in steps) <= recipe.learning_rate * 1.0001


def test_no_time_left_is_said_before_the_speed_is_measured(small):
    events = []
    train(get_recipe("mlp", "fast").with_(steps=60, epochs=None, batch_size=32,
                                          steps_per_execution=1), small,
          subscribers=[events.append])  # fmt: skip
    first = next(e for e in events if e["kind"] == "start")
    assert seconds_left(first) is None
    said = [e for e in events if e["kind"] == "step" and seconds_left(e) is not None]
    for e in said:  # whenever it is said, it is the steps left at the speed measured
        assert e["elapsed"] >= budget.FIT_AFTER_S - 0.1
        assert seconds_left(e) >= 0


def run_events(pressed, start, steps, final_s, stopped=False, total=None, samples_per_step=100):
    """A finished run's events on a made-up clock: start, a step a second, the final test."""
    total = total or steps
    events = [{"kind": "start", "wall": pressed + start, "step": 0, "total_steps": total}]
    for i in range(1, steps + 1):
        events.append({"kind": "step", "wall": pressed + start + i, "step": i,
                       "total_steps": total, "samples": i * samples_per_step})  # fmt: skip
    last = events[-1]["wall"]
    events.append({"kind": "final", "wall": last + 0.1})
    events.append({"kind": "end", "wall": last + final_s, "stopped": stopped})
    return events


def test_a_runs_timing_and_the_estimate_from_it():
    measured = timing(run_events(1000.0, 1.5, 20, 4.0), 1000.0)
    assert measured == Timing(1.5, 20.0, pytest.approx(3.9), 100.0)
    fast = get_recipe("mlp", "fast")
    guess = estimate(fast, measured, ahead_s=30.0)
    want_train = fast.total_steps() * fast.batch_size / 100.0
    assert guess.train_s == pytest.approx(want_train)
    assert guess.total_s == pytest.approx(1.5 + want_train + 3.9 + 30.0)
    class_cnn = get_recipe("cnn", "class")
    budgeted = estimate(class_cnn, None)  # nothing measured: the budget holds
    assert budgeted.train_s == class_cnn.budget_s and budgeted.start_s > 0 and budgeted.final_s > 0
    assert estimate(fast, None) is None  # a run by steps, nothing measured: no figure


def test_short_or_early_stopped_runs_are_no_speed_reference():
    assert timing(run_events(0.0, 1.0, 3, 1.0), 0.0) is None  # 3 s of training
    assert timing(run_events(0.0, 1.0, 10, 1.0, stopped=True, total=100), 0.0) is None
    assert timing(run_events(0.0, 1.0, 30, 1.0, stopped=True, total=100), 0.0) is not None


def test_a_server_wide_precision_overrides_auto_only(monkeypatch):
    from mnist_demo.nets.models import bf16_supported, resolve_precision

    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("MNIST_STUDIO_PRECISION", "float32")
    assert resolve_precision("auto") == "float32"
    assert resolve_precision("mixed_bfloat16") == "mixed_bfloat16"  # a recipe's own choice
    monkeypatch.setenv("MNIST_STUDIO_PRECISION", "auto")
    assert resolve_precision("auto") == ("mixed_bfloat16" if bf16_supported() else "float32")


def test_a_stopped_run_is_tested_on_the_first_test_digits_and_says_so(small, monkeypatch):
    import mnist_demo.training.engine as training
    from mnist_demo.data import to_float
    from mnist_demo.training.control import Control

    monkeypatch.setattr(training, "STOPPED_TEST_IMAGES", 100)
    control = Control()

    def stop_at_first_step(e):  # the first step's event comes at once; the next ones 0.5 s apart
        if e["kind"] == "step":
            control.stop.set()

    recipe = get_recipe("mlp", "fast").with_(steps_per_execution=1)
    res = train(recipe, small, subscribers=[stop_at_first_step], control=control)
    assert res.stopped and res.test_images == 100
    pred = np.asarray(res.model(to_float(small.x_test[:100]), training=False)).argmax(1)
    assert res.test_accuracy == pytest.approx((pred == small.y_test[:100]).mean(), abs=1e-6)
