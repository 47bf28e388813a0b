"""Runs side by side: every training of this session, and every saved model that kept its
curves, can be overlaid (up to five) to compare how they learned, as TensorBoard does."""

from __future__ import annotations

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.events import curves
from studio import state
from studio.charts import AXES, axis_style, curve_rows, legend
from studio.form import recipe_text
from studio.i18n import t

MAX_COMPARED = 5
TITLES = ("runs.training_loss_smoothed_log", "runs.test_mistakes_per_100_digits")
HEIGHT = 330


def add_run(result, events: list[dict]) -> None:
    """Keep a finished training of this session as a run."""
    runs = st.session_state.setdefault(state.RUNS, [])
    r = result.recipe
    name = t(
        "runs.run_seed",
        v1=len(runs) + 1,
        v3=MODEL_KINDS[r.model],
        name=r.name,
        seed=r.seed,
        test_accuracy=result.test_accuracy,
    )
    runs.append({"name": name, "describe": recipe_text(r), "curves": curves(events)})
    # The new run joins the overlay (the oldest chosen makes way past five).
    chosen = st.session_state.get(state.COMPARED) or []
    st.session_state[state.COMPARED] = [*chosen[-(MAX_COMPARED - 1) :], name]


def runs_ui(saved) -> None:
    """Choose up to five runs (this session's, and saved models' curves) and overlay them."""
    runs = st.session_state.get(state.RUNS, [])
    options = {run["name"]: (run["curves"], None) for run in runs}
    for m in saved:
        if m.error is None and m.meta.get("curves"):
            acc = t("runs.accuracy", accuracy=m.accuracy) if m.accuracy is not None else ""
            options[t("runs.saved", name=m.name, acc=acc)] = (m.meta["curves"], _trained_on(m.meta))
    if not options:
        return
    with st.expander(t("runs.compare_runs", len=len(options)), expanded=False):
        names = list(options)
        # None chosen on the first page, so that it builds no chart (Altair and pandas: 2 s of
        # a busy CPU while the canvas appears); each run of this session joins when it ends.
        kept = [n for n in st.session_state.get(state.COMPARED) or [] if n in options]
        st.session_state[state.COMPARED] = kept
        label = t("runs.runs_to_overlay_up_to")
        chosen = st.multiselect(label, names, max_selections=MAX_COMPARED, key=state.COMPARED)
        if chosen:
            picked = {n: options[n] for n in chosen}
            for col, field, title in zip(st.columns(2), ("loss", "error"), map(t, TITLES)):
                chart = _overlay(picked, field, title)
                col.altair_chart(chart, width="stretch", theme=None)


def _trained_on(meta: dict) -> int | None:
    """The digits a saved run's epoch passed over, for curves saved without their count."""
    n = meta.get("train_images")
    split = (meta.get("settings") or {}).get("validation_split") or 0.0
    return None if n is None else n - int(n * split)


def _overlay(runs: dict[str, tuple], field: str, title: str):
    """Runs on one axis that means the same for all: the digits each has trained on (a
    fine-tune's and a long run's epochs are not alike; their digits are)."""
    import altair as alt
    import pandas as pd

    want = ("training (smoothed)",) if field == "loss" else ("test", "validation")
    rows = [
        {**row, "run": name}
        for name, (events, n_train) in runs.items()
        for row in curve_rows(events, "samples", n_train)[0]
        if row["series"] in want
    ]
    if not rows:
        return alt.Chart(pd.DataFrame({"x": []})).mark_line()
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(point=field == "error", strokeWidth=3)
        .encode(
            alt.X("x:Q", title=t(AXES["samples"]), axis=axis_style()),
            alt.Y(f"{field}:Q", title=title, scale=alt.Scale(type="log"), axis=axis_style()),
            alt.Color("run:N", title=None, legend=legend(orient="bottom", columns=1)),
        )
        .properties(height=HEIGHT)
    )
