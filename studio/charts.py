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
from studio import chartspec, classview
from studio.chartspec import TEXT, layer, quantitative
from studio.i18n import language, t

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


def axis_style(font: int = 14):
    """chartspec.axis as Altair's (the saved runs' chart is built with Altair)."""
    import altair as alt

    return alt.Axis(**chartspec.axis(font))


def legend(font: int = 14, **kw):
    import altair as alt

    return alt.Legend(**chartspec.legend(font, **kw))


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


def charts_ui(events: list[dict], one_chart: bool = False, frame: bool = False) -> bool:
    """The two charts, side by side, from a training's events; in the class view the mistakes
    alone, in larger type (the loss is a toggle away). False: no point to draw yet; `frame`:
    then the empty axes, so that the browser has loaded and laid out its charts (half a second
    on a 2-core CPU, the first time) before the first point comes."""
    axis = axis_of(events)
    rows, marks = curve_rows(events, axis)
    if not rows and not frame:
        return False
    end, big = planned(events, axis), one_chart or classview.on()
    shown = CHARTS[1:] if big else CHARTS
    font = 16 if big else 14
    for col, (field, title) in zip(st.columns(len(shown)), shown):
        spec = (
            chart_spec(events, rows, marks, field, t(title), axis, end, font)
            if rows
            else _chart([], [], field, t(title), axis, end, font)
        )
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
    return bool(rows)


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
        spec = _chart(rows, marks, field, title, axis, end, font)
        with _SPECS_LOCK:
            _SPECS[key] = (now, len(events), spec)
            _SPECS.move_to_end(key)
            while len(_SPECS) > 16:
                _SPECS.popitem(last=False)
    return copy.deepcopy(spec)  # Streamlit may change what it is given


def warm() -> None:
    """pyarrow imported and one chart built, before the first training's first point (Altair
    and pandas took 1.3 s on a busy 2-core CPU, which the first curve point waited for)."""
    _chart([{"x": 0.0, "series": "training", "loss": 1.0, "error": 1.0}], [], "loss", "loss")


def _chart(rows, marks, field, title, axis="epoch", end=None, font: int = 14) -> dict:
    """The spec of one chart: each series a line, test points marked, pauses and rate changes
    as labelled rules (chartspec.py: plain dicts, not Altair, for speed)."""
    x = quantitative("x", axis=chartspec.axis(font), title=t(AXES[axis]))
    if end:
        x["scale"] = {"domain": [0, end], "nice": False}
    y = quantitative(field, axis=chartspec.axis(font), scale={"type": "log"}, title=title)
    series = {r["series"] for r in rows}
    present = [name for name in COLOURS if name in series]
    colour = {
        "field": "series",
        "legend": chartspec.legend(font, labelExpr=series_names(), orient="bottom"),
        "scale": {"domain": present, "range": [COLOURS[n] for n in present]},
        "title": None,
        "type": "nominal",
    }
    encoding = {"color": colour, "x": x, "y": y}
    data = {name: [r for r in rows if r["series"] == name] for name in WIDTHS}
    data["points"] = [r for r in rows if not r["series"].startswith("training")]
    layers = [
        layer(name, {"type": "line", "clip": True, "strokeWidth": width}, encoding)
        for name, width in WIDTHS.items()
    ]
    tooltip = [quantitative("x", format=".2f"), quantitative(field, format=".3g")]
    dots = {"type": "line", "clip": True, "point": {"filled": True, "size": 70}}
    dots |= {"strokeDash": [5, 3], "strokeWidth": 3}
    layers.append(layer("points", dots, {**encoding, "tooltip": tooltip}))
    if marks:
        data["marks"] = marks
        layers += _mark_layers()
    return chartspec.line_chart(layers, data)


def _mark_layers() -> list[dict]:
    """Pauses and rate changes: a dashed rule with its label at the top of the chart."""
    x = {"x": quantitative("x")}
    rule = {"type": "rule", "color": TEXT, "strokeDash": [3, 3], "strokeWidth": 2}
    text = {"type": "text", "align": "left", "baseline": "top", "color": TEXT}
    text |= {"dx": 4, "fontSize": 14, "y": 2}
    label = {**x, "text": {"field": "label", "type": "nominal"}}
    return [layer("marks", rule, x), layer("marks", text, label)]
