"""What the tests of the training layers' two ways (conv.py, dense.py, pool.py) share."""

import time

import numpy as np
import tensorflow as tf


def later(way):
    """`way`, giving the same answer 50 ms later: a way that must lose any timing."""

    def slow(*tensors):
        pause = tf.py_function(lambda: time.sleep(0.05) or np.float32(0), [], tf.float32)
        return way(*tensors) + pause

    return slow


def count_measures(module, monkeypatch) -> list:
    """Forget the module's earlier choices and count the timings it runs from now on."""
    monkeypatch.setattr(module, "_CHOICES", {})
    calls = []
    measure = module._measure
    monkeypatch.setattr(module, "_measure", lambda *a: calls.append(a) or measure(*a))
    return calls
