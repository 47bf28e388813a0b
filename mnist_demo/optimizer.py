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
the first update copies the weights and the average always covers the recent steps. The update
is one fused pass too.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam`, with each dense update done by TensorFlow's fused Adam kernel."""

    def update_step(self, gradient, variable, learning_rate):
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
        t = tf.cast(self.iterations, "float32")  # steps done before this one
        momentum = tf.minimum(tf.cast(self.ema_momentum, "float32"), t / (t + 9.0))
        for variable, average in zip(trainable_variables, self._model_variables_moving_average):
            if average is None:
                continue
            # average <- average - (1 - momentum) * (average - variable)
            tf.raw_ops.ResourceApplyGradientDescent(
                var=average.handle,
                alpha=tf.cast(1.0 - momentum, average.dtype),
                delta=tf.convert_to_tensor(average) - tf.convert_to_tensor(variable),
            )
