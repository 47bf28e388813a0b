"""Adam in one pass over memory.

Keras' Adam updates each variable with about a dozen element-wise TensorFlow ops (subtract, square,
multiply, assign-add, sqrt, divide, ...), each one a full pass over the variable, its two moments and
a temporary. The seed CNN's 3.2 million weights sit mostly in one 3136x1024 matrix, so at the seed's
batch of 50 those passes took about a third of every training step on a 2-core CPU. TensorFlow's own
`ResourceApplyAdam` kernel does the same arithmetic in a single multi-threaded pass.

The arithmetic is Keras' (and the original paper's, with epsilon outside the square root):
    m <- m + (g - m)(1 - beta_1);  v <- v + (g^2 - v)(1 - beta_2)
    w <- w - lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)
Variables, moments, learning-rate schedules, serialisation: all Keras' Adam. Sparse gradients and
AMSGrad fall back to Keras' code.

Weight averaging (`use_ema=True`, Keras' own switch) keeps an exponential moving average of the
weights, which Keras copies into the model when `fit` ends. Keras' average starts from the first
step with the full momentum, so a run stopped after 200 steps at momentum 0.999 would keep 82% of
its random initial weights. Here the momentum of the update after step t (t = 0 first) grows as
min(ema_momentum, t / (t + 9)), as TensorFlow 1's ExponentialMovingAverage with num_updates does:
the first update copies the weights and the average always covers the recent steps.

Averaging costs two passes over the weights (at batch 50, a quarter of the seed CNN's step), so
`average_every=k` updates the average after every k-th step only, with momentum^k and num_updates
counted in updates; the last step's weights are folded in when `fit` ends.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam`, with each dense update done by TensorFlow's fused Adam kernel."""

    def __init__(self, *args, average_every: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        if average_every < 1:
            raise ValueError("average_every must be >= 1")
        self.average_every = average_every

    def get_config(self):
        return {**super().get_config(), "average_every": self.average_every}

    def build(self, var_list):
        super().build(var_list)
        # The learning rate (or its schedule) times this: a teacher may change it mid-run.
        self.lr_scale = self.add_variable((), initializer="ones", dtype="float32", name="lr_scale")

    def current_rate(self) -> float:
        """The learning rate the next step uses: the schedule's, times the scale."""
        return float(self._get_current_learning_rate()) * float(self.lr_scale.numpy())

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = learning_rate * tf.cast(self.lr_scale, learning_rate.dtype)
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            # `.handle` is the resource behind a Keras variable and behind a tf.Variable alike
            # (TensorFlow's optimizer loop passes the latter).
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )

    def _update_model_variables_moving_average(self, trainable_variables):
        if not self.use_ema:
            return
        t = self.iterations  # steps done before this one
        k = self.average_every
        if k == 1:
            self._average_in(trainable_variables, tf.cast(t, "float32"))
        else:
            tf.cond(
                tf.equal(t % k, 0),
                lambda: self._average_in(trainable_variables, tf.cast(t // k, "float32")),
                lambda: tf.constant(False),
            )

    def finalize_variable_values(self, var_list):
        steps = int(self.iterations.numpy())
        k = self.average_every
        if self.use_ema and steps > 0 and (steps - 1) % k:
            self._average_in(var_list, tf.constant((steps - 1) // k + 1, "float32"))
        super().finalize_variable_values(var_list)

    def _average_in(self, variables, n):
        """One update of the average, the n-th (n = 0 first)."""
        cap = tf.cast(self.ema_momentum, "float32") ** self.average_every
        momentum = tf.minimum(cap, n / (n + 9.0))
        for variable, average in zip(variables, self._model_variables_moving_average):
            if average is None:
                continue
            # average <- average - (1 - momentum) * (average - variable)
            tf.raw_ops.ResourceApplyGradientDescent(
                var=average.handle,
                alpha=tf.cast(1.0 - momentum, average.dtype),
                delta=tf.convert_to_tensor(average) - tf.convert_to_tensor(variable),
            )
        return tf.constant(True)
