"""The curves' data, from a training's events: what the charts draw."""

import numpy as np
import pytest

from studio.charts import curve_rows


def events(n=40):
    out = []
    for i in range(1, n + 1):
        out.append({"kind": "step", "step": i, "epoch": i / 10, "loss": 3.0 - 0.05 * i,
                    "accuracy": 0.5 + 0.01 * i})  # fmt: skip
        if i % 10 == 0:
            out.append({"kind": "eval", "step": i, "epoch": i / 10, "test_loss": 1.0 / i,
                        "test_accuracy": 1 - 1.0 / i})  # fmt: skip
    out.insert(15, {"kind": "pause", "step": 14, "epoch": 1.4})
    out.insert(30, {"kind": "rate", "step": 27, "epoch": 2.7, "lr_factor": 0.3})
    return out


def series(rows, name, field):
    return np.array([r[field] for r in rows if r["series"] == name])


def test_the_smoothed_line_does_not_lag_behind_a_falling_curve():
    rows, _ = curve_rows(events())
    raw, smooth = series(rows, "training", "loss"), series(rows, "training (smoothed)", "loss")
    # A straight line's centred mean is the line itself, away from the ends.
    np.testing.assert_allclose(smooth[2:-2], raw[2:-2])
    assert abs(smooth[-1] - raw[-1]) <= 0.05 * 2  # at the live end: two points' worth


def test_held_out_points_are_error_rates_in_percent_and_marks_say_what_happened():
    rows, marks = curve_rows(events())
    assert series(rows, "test", "error") == pytest.approx([10.0, 5.0, 100 / 30, 2.5])
    assert series(rows, "test", "loss") == pytest.approx([0.1, 0.05, 1 / 30, 0.025])
    assert series(rows, "training", "error")[0] == pytest.approx(49.0)
    assert marks == [{"epoch": 1.4, "label": "paused"}, {"epoch": 2.7, "label": "rate x0.3"}]
