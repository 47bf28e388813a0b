import time

from mnist_demo.warm import KeepWarm


class Counting:
    def __init__(self):
        self.n = 0

    def probabilities(self, image):
        assert image.shape == (28, 28)
        self.n += 1


def test_predictors_are_called_while_in_use_then_let_go():
    warm = KeepWarm(period_s=0.01, keep_s=0.3)
    a, b = Counting(), Counting()
    assert warm.warm() == 0
    warm.touch([a, b])
    time.sleep(0.15)
    assert a.n >= 3 and b.n >= 3 and warm.warm() == 2
    time.sleep(0.4)  # past keep_s without a touch
    assert warm.warm() == 0
    n = a.n
    time.sleep(0.1)
    assert a.n == n  # no longer called


def test_a_failing_predictor_does_not_stop_the_others():
    class Broken:
        def probabilities(self, image):
            raise RuntimeError("model being replaced")

    warm = KeepWarm(period_s=0.01, keep_s=1)
    good = Counting()
    warm.touch([Broken(), good])
    time.sleep(0.1)
    assert good.n >= 3
