"""The live loss and accuracy charts of a training, from its metric events."""

from __future__ import annotations

import streamlit as st

from mnist_demo.events import EVAL, HELD_OUT, STEP, held_out_key

HEIGHT = 220


def charts_ui(events: list[dict]) -> None:
    """Loss on the training batches; accuracy on them and on the held-out set, against steps."""
    # Imported here: pandas takes 0.4 s to import, and the first painted page has no chart.
    import pandas as pd

    steps = [e for e in events if e["kind"] == STEP]
    evals = [e for e in events if e["kind"] == EVAL]
    if not steps:
        return
    train = pd.DataFrame(steps).set_index("step")
    key = held_out_key(evals[-1]) if evals else None
    c1, c2 = st.columns(2)
    c1.caption("Loss (training batches)")
    c1.line_chart(train[["loss"]], height=HEIGHT, x_label="step")
    acc = train[["accuracy"]].rename(columns={"accuracy": "training"})
    if key:
        held_out = pd.DataFrame(evals).set_index("step")[[key]].rename(columns=HELD_OUT)
        acc = acc.join(held_out, how="outer").ffill()
    c2.caption("Accuracy")
    c2.line_chart(acc, height=HEIGHT, x_label="step")
