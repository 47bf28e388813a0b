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


def altair_chart(rows, marks, field, title, x_title, end, font):
    """The live chart as Altair builds it (the reference the plain-dict spec is held to)."""
    import altair as alt
    import pandas as pd

    from studio.charts import COLOURS, WIDTHS, axis_style, legend, series_names

    data = pd.DataFrame(rows)
    x = alt.X(
        "x:Q", title=x_title, scale=alt.Scale(domain=[0, end], nice=False), axis=axis_style(font)
    )
    y = alt.Y(f"{field}:Q", title=title, scale=alt.Scale(type="log"), axis=axis_style(font))
    present = [name for name in COLOURS if name in set(data.series)]
    colour = alt.Color(
        "series:N",
        title=None,
        legend=legend(font, orient="bottom", labelExpr=series_names()),
        scale=alt.Scale(domain=present, range=[COLOURS[n] for n in present]),
    )
    layers = [
        alt.Chart(data[data.series == name])
        .mark_line(clip=True, strokeWidth=width)
        .encode(x, y, colour)
        for name, width in WIDTHS.items()
    ]
    tooltip = [alt.Tooltip("x:Q", format=".2f"), alt.Tooltip(f"{field}:Q", format=".3g")]
    layers.append(
        alt.Chart(data[~data.series.str.startswith("training")])
        .mark_line(
            point=alt.OverlayMarkDef(size=70, filled=True),
            strokeDash=[5, 3],
            strokeWidth=3,
            clip=True,
        )
        .encode(x, y, colour, tooltip=tooltip)
    )
    rules = alt.Chart(pd.DataFrame(marks)).encode(x=alt.X("x:Q"))
    layers += [
        rules.mark_rule(color="#374151", strokeDash=[3, 3], strokeWidth=2),
        rules.mark_text(
            align="left", baseline="top", dx=4, y=2, color="#374151", fontSize=14
        ).encode(text="label:N"),
    ]
    return alt.layer(*layers).properties(height=330).to_dict()  # validated against the schema


def resolved(spec, rows_of):
    """Each layer with its data in place of the dataset's name (names differ, data must not)."""
    out = []
    for layer in spec["layer"]:
        rows = rows_of(spec["datasets"][layer["data"]["name"]])
        out.append({**layer, "data": sorted(map(str, rows))})
    return out


@pytest.mark.parametrize("field, font", [("loss", 14), ("error", 16)])
def test_the_live_chart_spec_is_the_one_altair_builds_and_validates(field, font):
    import altair as alt
    import pyarrow as pa

    from studio.charts import _chart

    rows, marks = curve_rows(events())
    mine = _chart(rows, marks, field, "a title", "epoch", 4.2, font)
    theirs = altair_chart(
        rows, marks, field, "a title", "epochs (passes over the training digits)", 4.2, font
    )

    def arrow(data):
        return [
            {k: v for k, v in r.items() if k != "__index_level_0__"}
            for r in pa.ipc.open_stream(data).read_all().to_pylist()
        ]

    assert resolved(mine, arrow) == resolved(theirs, lambda rows: rows)
    assert mine["height"] == theirs["height"]
    plain = {**mine, "datasets": {k: arrow(v) for k, v in mine["datasets"].items()}}
    alt.LayerChart.from_dict(plain, validate=True)  # a valid Vega-Lite spec by the schema
