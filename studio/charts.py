"""The live curves of a training: loss, and mistakes per 100 digits, both on log axes.

Training curves come from the step events (the mean of the batches since the last event: no
restart at epoch boundaries), drawn faint, with a smoothed line over them; test (or validation)
points from the eval events, marked. Both axes are logarithmic: a loss from 2.3 down to 0.02 and
an error rate from 90% down to 1% stay readable, and the last stretch (98% -> 99.2%) is not a
flat line at the top. Pauses and learning-rate changes are marked where they happened.
"""

from __future__ import annotations

import streamlit as st

from mnist_demo.events import EVAL, PAUSE, RATE, STEP, held_out_key

HEIGHT = 330  # the whole chart: axes and legend take about 110 of it
WINDOW = 5  # training points in the smoothed line's moving mean (about 2.5 s of training)
FLOOR = 0.01  # % : an error rate of 0 would be off a log axis
COLOURS = {
    "training": "#93c5fd",
    "training (smoothed)": "#1d4ed8",
    "test": "#dc2626",
    "validation": "#dc2626",
}


def curve_rows(events: list[dict]) -> tuple[list[dict], list[dict]]:
    """(rows, marks): one row per point of each series (epoch, series, loss, error %), and one
    per pause or rate change (epoch, label). The smoothed line is a centred moving mean over
    WINDOW points: unlike an exponential average it does not lag behind a falling curve."""
    rows, marks, train = [], [], []
    for e in events:
        kind, epoch = e["kind"], e.get("epoch", 0.0)
        if kind == STEP and "loss" in e:
            err = max(FLOOR, 100 * (1 - e["accuracy"]))
            train.append({"epoch": epoch, "series": "training", "loss": e["loss"], "error": err})
        elif kind == EVAL and (key := held_out_key(e)):
            name = "test" if key.startswith("test") else "validation"
            err = max(FLOOR, 100 * (1 - e[key]))
            rows.append(
                {
                    "epoch": epoch,
                    "series": name,
                    "loss": e[key.replace("accuracy", "loss")],
                    "error": err,
                }
            )
        elif kind == PAUSE:
            marks.append({"epoch": epoch, "label": "paused"})
        elif kind == RATE:
            marks.append({"epoch": epoch, "label": f"rate x{e['lr_factor']:g}"})
    half = WINDOW // 2
    for i, row in enumerate(train):
        near = train[max(0, i - half) : i + half + 1]
        mean = {f: sum(r[f] for r in near) / len(near) for f in ("loss", "error")}
        rows.append({"epoch": row["epoch"], "series": "training (smoothed)", **mean})
    return train + rows, marks


def charts_ui(events: list[dict]) -> None:
    """The two charts, side by side, from a training's events."""
    rows, marks = curve_rows(events)
    if not rows:
        return
    c1, c2 = st.columns(2)
    with c1:
        st.altair_chart(
            _chart(rows, marks, "loss", "loss (log scale)"), width="stretch", alt="the loss curves"
        )
    with c2:
        st.altair_chart(
            _chart(rows, marks, "error", "mistakes per 100 digits (log scale)"),
            width="stretch",
            alt="the mistakes curves",
        )
    st.caption(
        "Faint: each stretch of training batches; dark: the same, smoothed; red dots: digits the "
        "network never trains on (2,000 of them, at each evaluation). "
        "An epoch is one pass over the training digits."
    )


def warm() -> None:
    """Altair and pandas imported and one chart built, before the first training's first point
    (1.3 s on a busy 2-core CPU, which the first curve point waited for)."""
    _chart(
        [{"epoch": 0.0, "series": "training", "loss": 1.0, "error": 1.0}], [], "loss", "loss"
    ).to_dict()


def _chart(rows: list[dict], marks: list[dict], field: str, title: str):
    import altair as alt  # with pandas: 0.5 s to import, and the first page has no chart
    import pandas as pd

    data = pd.DataFrame(rows)
    x = alt.X("epoch:Q", title="epochs (passes over the training digits)")
    present = [name for name in COLOURS if name in set(data.series)]
    y = alt.Y(f"{field}:Q", title=title, scale=alt.Scale(type="log"))
    colour = alt.Color(
        "series:N",
        title=None,
        legend=alt.Legend(orient="bottom"),
        scale=alt.Scale(domain=present, range=[COLOURS[n] for n in present]),
    )
    lines = data[data.series.str.startswith("training")]
    points = data[~data.series.str.startswith("training")]
    layers = [
        alt.Chart(lines)
        .mark_line(clip=True)
        .encode(
            x,
            y,
            colour,
            opacity=alt.condition(alt.datum.series == "training", alt.value(0.5), alt.value(1)),
        ),
        alt.Chart(points)
        .mark_line(point=alt.OverlayMarkDef(size=45, filled=True), strokeDash=[4, 3])
        .encode(
            x,
            y,
            colour,
            tooltip=[alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip(f"{field}:Q", format=".3g")],
        ),
    ]
    layers += _mark_layers(alt, pd, x, marks)
    return alt.layer(*layers).properties(height=HEIGHT)


def _mark_layers(alt, pd, x, marks: list[dict]) -> list:
    """Pauses and rate changes: a dashed rule with its label at the top of the chart."""
    if not marks:
        return []
    rules = alt.Chart(pd.DataFrame(marks)).encode(x=alt.X("epoch:Q"))
    label = rules.mark_text(
        align="left", baseline="top", dx=3, y=2, color="#374151", fontSize=11
    ).encode(text="label:N")
    return [rules.mark_rule(color="#6b7280", strokeDash=[2, 2]), label]
