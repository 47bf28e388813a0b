"""FusedAdam against Adam written out in NumPy from the paper (Kingma & Ba, Algorithm 1, with
epsilon added outside the square root of the bias-corrected step, as Keras and TensorFlow do)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_demo.nets.models import build_model
from mnist_demo.training.optimizer import FusedAdam
from tests.nets.test_models import needs_bf16


def numpy_adam(w, grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    w = w.astype(np.float64).copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        rate = lr(t - 1) if callable(lr) else lr
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        w -= rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + epsilon)
    return w


@pytest.fixture
def problem():
    rng = np.random.default_rng(7)
    w0 = rng.normal(size=(64, 32)).astype(np.float32)
    grads = [rng.normal(scale=s, size=(64, 32)).astype(np.float32) for s in (1, 0.1, 3, 1e-3, 1)]
    return w0, grads


def _apply(optimizer, w0, grads, *, in_function=False) -> keras.Variable:
    """A weight started at w0, after one optimizer step per gradient."""
    w = keras.Variable(w0.copy())
    optimizer.build([w])

    def step(g):
        optimizer.apply_gradients([(g, w)])

    run = tf.function(step) if in_function else step
    for g in grads:
        run(tf.constant(g))
    return w


@pytest.mark.parametrize("in_function", [False, True], ids=["eager", "traced"])
def test_matches_the_paper(problem, in_function):
    w0, grads = problem
    got = _apply(FusedAdam(1e-2, epsilon=1e-7), w0, grads, in_function=in_function).numpy()
    want = numpy_adam(w0, grads, 1e-2)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
    assert np.abs(got - w0).max() > 1e-2  # it moved


def test_follows_a_learning_rate_schedule(problem):
    w0, grads = problem
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=1, decay_rate=0.5)
    got = _apply(FusedAdam(schedule, epsilon=1e-8), w0, grads).numpy()
    want = numpy_adam(w0, grads, lambda step: 1e-2 * 0.5**step, epsilon=1e-8)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)


@needs_bf16
def test_trains_a_mixed_precision_model_like_keras_adam():
    """Under mixed_bfloat16 the variables stay float32 and the gradients arrive in float32."""
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    losses = {}
    for name, optimizer in [("keras", keras.optimizers.Adam(1e-3)), ("fused", FusedAdam(1e-3))]:
        keras.utils.set_random_seed(3)
        model = build_model("mlp", "mixed_bfloat16")
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
        before = model.evaluate(x, y, verbose=0)
        model.fit(x, y, batch_size=16, epochs=5, verbose=0, shuffle=False)
        losses[name] = (before, model.evaluate(x, y, verbose=0))
    assert losses["fused"][1] < 0.5 * losses["fused"][0]
    assert losses["fused"][1] == pytest.approx(losses["keras"][1], rel=0.25)


def numpy_average(w, grads, lr, momentum, every=1):
    """The weights after every `every`-th Adam step (t = 0, every, 2 every, ...; and the last),
    averaged with momentum min(momentum^every, n / (n + 9)) for the n-th average."""
    trail = [numpy_adam(w, grads[:k], lr) for k in range(1, len(grads) + 1)]
    picked = trail[::every]
    if (len(trail) - 1) % every:
        picked.append(trail[-1])
    avg = np.zeros_like(trail[0])
    for n, weights in enumerate(picked):
        m = min(momentum**every, n / (n + 9))
        avg = m * avg + (1 - m) * weights
    return avg


@pytest.mark.parametrize(
    "every, in_function",
    [(1, False), (3, True), (7, False)],  # 40 steps: step 39 is a 3rd one, not a 7th
    ids=["every", "3rd-traced", "7th"],
)
def test_weight_average_is_written_back_when_fit_ends(problem, every, in_function):
    w0, grads = problem
    grads = grads * 8  # 40 steps: the momentum reaches its cap (39 / 48 > 0.8)
    optimizer = FusedAdam(1e-2, epsilon=1e-7, use_ema=True, ema_momentum=0.8, average_every=every)
    w = _apply(optimizer, w0, grads, in_function=in_function)
    np.testing.assert_allclose(w.numpy(), numpy_adam(w0, grads, 1e-2), atol=2e-6)  # raw
    optimizer.finalize_variable_values([w])  # what Model.fit does last
    want = numpy_average(w0, grads, 1e-2, 0.8, every)
    np.testing.assert_allclose(w.numpy(), want, rtol=0, atol=2e-5)
    assert np.abs(want - numpy_adam(w0, grads, 1e-2)).max() > 1e-3  # averaging changed something


def test_weight_average_of_a_short_run_forgets_the_initial_weights(problem):
    """Stopped after 5 steps at momentum 0.999, the average is mostly the recent weights."""
    w0, grads = problem
    optimizer = FusedAdam(1e-2, use_ema=True, ema_momentum=0.999)
    w = _apply(optimizer, w0, grads)
    last = w.numpy().copy()
    optimizer.finalize_variable_values([w])
    # Momenta 0, 0.1, 0.18, 0.25, 0.31: the last step's weights count 69%, the initial ones 0%.
    np.testing.assert_allclose(w.numpy(), numpy_average(w0, grads, 1e-2, 0.999), atol=2e-5)
    assert np.abs(w.numpy() - last).max() < np.abs(w0 - last).max() / 2
