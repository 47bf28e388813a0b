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
    assert marks == [{"x": 1.4, "label": "paused"}, {"x": 2.7, "label": "learning rate x0.3"}]


def test_a_rate_change_reads_from_the_rate_before_to_the_rate_after():
    evs = events()
    for e in evs:
        if e["kind"] == "step":
            e["learning_rate"] = 0.003
    rate = next(e for e in evs if e["kind"] == "rate")
    rate["learning_rate"] = 0.0009
    _, marks = curve_rows(evs)
    assert marks[-1]["label"] == "learning rate 0.003 -> 0.0009"


def test_a_fine_tune_is_charted_in_steps_and_compared_runs_in_digits_seen():
    from studio.charts import axis_of

    evs = [{"kind": "start", "recipe": "fine-tune", "step": 0, "epoch": 0.0}, *events()]
    assert axis_of(evs) == "step" and axis_of(events()) == "epoch"
    rows, _ = curve_rows(evs, axis_of(evs))
    assert series(rows, "test", "x").tolist() == [10, 20, 30, 40]  # the steps, not epochs
    # Curves saved without a digit count: epochs times the digits an epoch passes over.
    rows, _ = curve_rows(events(), "samples", n_train=57_000)
    assert series(rows, "test", "x") == pytest.approx([57.0, 114.0, 171.0, 228.0])
    with_samples = [{**e, "samples": e["step"] * 128} for e in events()]
    rows, _ = curve_rows(with_samples, "samples")
    assert series(rows, "test", "x") == pytest.approx([1.28, 2.56, 3.84, 5.12])
