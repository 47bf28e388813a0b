"""The live curves of a training: loss, and mistakes per 100 digits, both on log axes.

Training curves come from the step events (the mean of the batches since the last event: no
restart at epoch boundaries), drawn faint, with a smoothed line over them; test (or validation)
points from the eval events, marked. Both axes are logarithmic: a loss from 2.3 down to 0.02 and
an error rate from 90% down to 1% stay readable, and the last stretch (98% -> 99.2%) is not a
flat line at the top. Pauses and learning-rate changes are marked where they happened.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict

import streamlit as st

from mnist_demo.events import EVAL, PAUSE, RATE, STEP, held_out_key
from studio import classview
from studio.i18n import language, t
from studio.streamlit_internals import vega_lite_spec

HEIGHT = 330  # the whole chart: axes and legend take about 110 of it
WINDOW = 5  # training points in the smoothed line's moving mean (about 2.5 s of training)
FLOOR = 0.01  # % : an error rate of 0 would be off a log axis
# Readable from the back of a room: every line at least 3 px and 3:1 against the white page
# (the faint one #3b82f6 is 3.7:1, the smoothed one 8.6:1, the test points' red 6.5:1), and text
# at 4.5:1 or more (#374151 is 10.3:1) in 14 px (16 in the class view).
COLOURS = {
    "training": "#3b82f6",
    "training (smoothed)": "#1e3a8a",
    "test": "#b91c1c",
    "validation": "#b91c1c",
}
WIDTHS = {"training": 3, "training (smoothed)": 4.5}
TEXT, GRID = "#374151", "#e5e7eb"


def axis_style(font: int = 14):
    """An axis for a projector: big, dark text, nothing cut short. On the axis itself: it wins
    over any theme's config."""
    import altair as alt

    return alt.Axis(
        labelFontSize=font,
        titleFontSize=font,
        labelColor=TEXT,
        titleColor=TEXT,
        domainColor=TEXT,
        tickColor=TEXT,
        gridColor=GRID,
        labelLimit=0,
        titleLimit=0,
    )


def legend(font: int = 14, **kw):
    import altair as alt

    return alt.Legend(labelFontSize=font, labelColor=TEXT, labelLimit=0, symbolStrokeWidth=3, **kw)


def series_names() -> str:
    """A Vega expression naming each series in the page's language (the data keeps its own)."""
    expr = "datum.label"
    for name in COLOURS:
        said = t("charts.series_" + name.replace(" (smoothed)", "_smoothed")).replace("'", "\\'")
        expr = f"datum.label == '{name}' ? '{said}' : {expr}"
    return expr


def planned(events: list[dict], axis: str) -> float | None:
    """Where the run is planned to end on `axis`, from its start event and its latest length:
    the x-axis spans the whole run from the first point."""
    start = next((e for e in events if e["kind"] == "start"), None)
    last = events[-1] if events else None
    if start is None or last is None or "total_steps" not in last:
        return None
    if axis == "step":
        return float(last["total_steps"])
    if not start.get("n_train"):
        return None
    return last["total_steps"] * start["batch_size"] / start["n_train"]


AXES = {  # what a chart's x counts, and what it is called
    "epoch": "charts.epochs_passes_over_the_training",
    "step": "charts.steps_batches_trained_on",
    "samples": "charts.thousands_of_digits_trained_on",
}


def axis_of(events: list[dict]) -> str:
    """A fine-tune is charted in steps (its "epoch", each taught digit once, is no pass over
    anything a class knows); every other training in epochs."""
    return "step" if events and events[0].get("recipe") == "fine-tune" else "epoch"


def _x(e: dict, axis: str, n_train: int | None) -> float:
    if axis == "samples":
        seen = e.get("samples", e.get("epoch", 0.0) * (n_train or 0))
        return seen / 1000
    return e.get(axis, 0.0)


def _rate_label(before: float | None, e: dict) -> str:
    after = e.get("learning_rate")
    if before is None or after is None:
        return t("charts.learning_rate_x", lr_factor=e["lr_factor"])
    return t("charts.learning_rate", before=before, after=after)


def curve_rows(events: list[dict], axis: str = "epoch", n_train: int | None = None):
    """(rows, marks): one row per point of each series (x, series, loss, error %), and one per
    pause or rate change (x, label); x counts `axis` (AXES; "samples" falls back to epochs times
    `n_train` for curves saved without it). The smoothed line is a centred moving mean over
    WINDOW points: unlike an exponential average it does not lag behind a falling curve."""
    rows, marks, train, rate = [], [], [], None
    for e in events:
        kind, x = e["kind"], _x(e, axis, n_train)
        if kind == STEP and "loss" in e:
            err = max(FLOOR, 100 * (1 - e["accuracy"]))
            train.append({"x": x, "series": "training", "loss": e["loss"], "error": err})
        elif kind == EVAL and (key := held_out_key(e)):
            name = "test" if key.startswith("test") else "validation"
            loss, err = e[key.replace("accuracy", "loss")], max(FLOOR, 100 * (1 - e[key]))
            rows.append({"x": x, "series": name, "loss": loss, "error": err})
        elif kind == PAUSE:
            marks.append({"x": x, "label": "paused"})
        elif kind == RATE:
            marks.append({"x": x, "label": _rate_label(rate, e)})
        rate = e.get("learning_rate", rate)
    half = WINDOW // 2
    for i, row in enumerate(train):
        near = train[max(0, i - half) : i + half + 1]
        mean = {f: sum(r[f] for r in near) / len(near) for f in ("loss", "error")}
        rows.append({"x": row["x"], "series": "training (smoothed)", **mean})
    return train + rows, marks


CHARTS = (("loss", "charts.loss_log_scale"), ("error", "charts.mistakes_per_100_digits_log"))


def charts_ui(events: list[dict], one_chart: bool = False) -> None:
    """The two charts, side by side, from a training's events; in the class view the mistakes
    alone, in larger type (the loss is a toggle away)."""
    axis = axis_of(events)
    rows, marks = curve_rows(events, axis)
    if not rows:
        return
    end, big = planned(events, axis), one_chart or classview.on()
    shown = CHARTS[1:] if big else CHARTS
    for col, (field, title) in zip(st.columns(len(shown)), shown):
        spec = chart_spec(events, rows, marks, field, t(title), axis, end, font=16 if big else 14)
        alt_text = t("charts.the_curves_" + field)
        col.vega_lite_chart(spec=spec, width="stretch", theme=None, alt=alt_text)
    if not big:
        st.caption(
            t("charts.faint_each_stretch_of_training")
            + (
                t("charts.a_fine_tune_is_counted")
                if axis == "step"
                else t("charts.an_epoch_is_one_pass")
            )
        )


_SPECS: OrderedDict = OrderedDict()  # run and chart -> (when built, events seen, spec)
_SPECS_LOCK = threading.Lock()
SHARED_FOR_S = 1.0  # a chart built this recently serves every page of the same run


def chart_spec(events, rows, marks, field, title, axis, end, font) -> dict:
    """A chart's Vega-Lite spec, built at most once a second for every page that shows the same
    run: a class of 30 watches one training, and Altair takes 60 ms a chart (0.15 s of a
    server's CPU per look at both)."""
    key, now = (events[0].get("wall"), field, axis, font, language()), time.monotonic()
    with _SPECS_LOCK:
        built, seen, spec = _SPECS.get(key, (0.0, -1, None))
    if spec is None or (seen != len(events) and now - built >= SHARED_FOR_S):
        spec = vega_lite_spec(_chart(rows, marks, field, title, axis, end, font))
        with _SPECS_LOCK:
            _SPECS[key] = (now, len(events), spec)
            _SPECS.move_to_end(key)
            while len(_SPECS) > 16:
                _SPECS.popitem(last=False)
    return copy.deepcopy(spec)  # Streamlit may change what it is given


def warm() -> None:
    """Altair and pandas imported and one chart built, before the first training's first point
    (1.3 s on a busy 2-core CPU, which the first curve point waited for)."""
    _chart(
        [{"x": 0.0, "series": "training", "loss": 1.0, "error": 1.0}], [], "loss", "loss"
    ).to_dict()


def _chart(rows, marks, field, title, axis="epoch", end=None, font: int = 14):
    import altair as alt  # with pandas: 0.5 s to import, and the first page has no chart
    import pandas as pd

    data = pd.DataFrame(rows)
    scale = alt.Scale(domain=[0, end], nice=False) if end else alt.Undefined
    x = alt.X("x:Q", title=t(AXES[axis]), scale=scale, axis=axis_style(font))
    present = [name for name in COLOURS if name in set(data.series)]
    y = alt.Y(f"{field}:Q", title=title, scale=alt.Scale(type="log"), axis=axis_style(font))
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
    points = data[~data.series.str.startswith("training")]
    tooltip = [alt.Tooltip("x:Q", format=".2f"), alt.Tooltip(f"{field}:Q", format=".3g")]
    dots = alt.OverlayMarkDef(size=70, filled=True)
    layers.append(
        alt.Chart(points)
        .mark_line(point=dots, strokeDash=[5, 3], strokeWidth=3, clip=True)
        .encode(x, y, colour, tooltip=tooltip)
    )
    layers += _mark_layers(alt, pd, x, marks)
    return alt.layer(*layers).properties(height=HEIGHT)


def _mark_layers(alt, pd, x, marks: list[dict]) -> list:
    """Pauses and rate changes: a dashed rule with its label at the top of the chart."""
    if not marks:
        return []
    rules = alt.Chart(pd.DataFrame(marks)).encode(x=alt.X("x:Q"))
    label = rules.mark_text(align="left", baseline="top", dx=4, y=2, color=TEXT, fontSize=14)
    return [
        rules.mark_rule(color=TEXT, strokeDash=[3, 3], strokeWidth=2),
        label.encode(text="label:N"),
    ]
