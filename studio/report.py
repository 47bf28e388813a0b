"""The test report of any model (shipped, saved or trained in this session): accuracy per class,
the confusion matrix with the digits of any cell, and the misread digits, most confident first.
Computed once per model file (by its sha256) or session model, only while the section is open."""

from __future__ import annotations

import functools
import weakref

import numpy as np
import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.storage.archive import sha256_file
from studio import state
from studio.choose import model_choices
from studio.i18n import t
from studio.pictures import grey, grid, png

SHOWN = 40  # digits shown from a cell or from the mistakes
_BY_FILE: dict[str, object] = {}  # sha256 -> TestReport, server-wide
_BY_SESSION_MODEL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # TrainResult -> report


def report_ui(saved) -> None:
    box = st.expander(t("report.test_report"), key=state.REPORT_OPEN, on_change="rerun")
    if not box.open:
        return
    with box:
        data, error = state.mnist_or_error()
        if data is None:
            st.warning(t("report.the_test_report_needs_mnist", error=error))
            return
        options = {
            (k, v): f"{MODEL_KINDS[k]}: {label}"
            for k in MODEL_KINDS
            for v, label in model_choices(k, saved).items()
        }
        if not options:
            st.info(t("report.no_model_to_report_on"))
            return
        kind, value = st.selectbox(
            t("report.model"), list(options), format_func=options.get, key=state.REPORT_MODEL
        )
        rep = _report(kind, value, saved, data)
        if rep is not None:
            shown_ui(rep, data)


def _report(kind: str, value: str, saved, data):
    """The model's report, from the cache or computed now with a progress bar."""
    if value == state.SESSION:
        result = st.session_state[state.TRAINED][kind]
        cache, key, model = _BY_SESSION_MODEL, result, result.model
    else:
        m = next(m for m in saved if m.name == value)
        try:
            stat = m.path.stat()
            key = _digest(str(m.path), stat.st_mtime, stat.st_size)
        except OSError:
            st.warning(t("report.is_unavailable_it_was_deleted", name=m.name))
            return None
        cache = _BY_FILE
        predictor, error = state.load_predictor(str(m.path), stat.st_mtime, stat.st_size)
        if predictor is None:
            st.warning(t("report.is_unavailable", name=m.name, error=error))
            return None
        model = predictor.model
    if key not in cache:
        from mnist_demo.nets.report import test_report

        bar = st.progress(0.0, text=t("report.reading_the_10_000_test"))
        cache[key] = test_report(
            model,
            data.x_test,
            data.y_test,
            lambda done, total: bar.progress(
                done / total, text=t("report.reading_the_test_digits_of", done=done, total=total)
            ),
        )
        bar.empty()
    return cache[key]


@functools.lru_cache(maxsize=64)
def _digest(path: str, mtime: float, size: int) -> str:
    """A file version's sha256, hashed once (13 MB for a CNN), not on every rerun."""
    return sha256_file(path)


def shown_ui(rep, data) -> None:
    wrong = len(rep.mistakes)
    st.markdown(
        t(
            "report.test_accuracy_of_test_digits",
            accuracy=rep.accuracy,
            v3=rep.n - wrong,
            n=rep.n,
            wrong=wrong,
            seconds=rep.seconds,
        )
    )
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.altair_chart(confusion_chart(rep.confusion), width="stretch")
    with right:
        import pandas as pd  # not on the path to the first paint (0.9 s to import)

        per = pd.DataFrame(
            {"digit": range(10), "accuracy": rep.per_class, "test digits": rep.confusion.sum(1)}
        )
        st.dataframe(per.style.format({"accuracy": "{:.2%}"}), hide_index=True)
    cell_ui(rep, data)
    mistakes_ui(rep, data)


def confusion_chart(confusion: np.ndarray):
    """Counts in a 10x10 grid, rows the true digit, columns what was read; colour on a log
    scale so that a handful of mistakes shows beside a thousand right answers (an Altair
    LayerChart)."""
    import altair as alt  # with pandas, 2 s of the first paint on a busy CPU: imported here
    import pandas as pd

    rows = [
        {"true": t, "read as": p, "count": int(confusion[t, p])}
        for t in range(10)
        for p in range(10)
    ]
    base = alt.Chart(pd.DataFrame(rows)).encode(
        x=alt.X("read as:O", title=t("report.read_as_2")),
        y=alt.Y("true:O", title=t("report.true_digit_2")),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
        tooltip=["true", "read as", "count"],
    )
    text = base.mark_text(fontSize=11).encode(
        text="count:Q",
        color=alt.condition("datum.count > 200", alt.value("white"), alt.value("#111827")),
    )
    return (cells + text).properties(height=330, title=t("report.confusion_matrix_counts"))


def cell_ui(rep, data) -> None:
    """Choose a cell of the matrix: its digits, most confident first."""
    off = rep.confusion - np.diag(np.diag(rep.confusion))
    t0, p0 = np.unravel_index(int(off.argmax()), off.shape)
    c1, c2, c3 = st.columns([1, 1, 3], vertical_alignment="bottom")
    true = c1.selectbox(t("report.true_digit"), range(10), index=int(t0), key="cell_true")
    read = c2.selectbox(t("report.read_as"), range(10), index=int(p0), key="cell_read")
    idx = rep.in_cell(data.y_test, true, read)
    c3.markdown(
        t("report.test_digit_s_of_class", len=len(idx), true=true, read=read)
        + (t("report.the_first_shown", shown=SHOWN) if len(idx) > SHOWN else "")
        + "."
    )
    if len(idx):
        st.html(_digits(idx[:SHOWN], rep, data))


def mistakes_ui(rep, data) -> None:
    st.markdown(t("report.the_misread_digits_most_confident"))
    top = rep.mistakes[:SHOWN]
    st.html(_digits(top, rep, data))
    pick = st.selectbox(
        t("report.look_inside_the_networks_at"),
        [None, *map(int, top)],
        format_func={
            i: t("report.choose_a_digit")
            if i is None
            else t("report.test_digit_a_read_as_2", i=i, v3=data.y_test[i], v5=rep.predicted[i])
            for i in [None, *map(int, top)]
        }.get,
        key=state.REPORT_PICK,
        on_change=_picked,
    )
    if pick is None and st.session_state.get(state.INSIDE_DIGIT) is not None:
        st.caption(t("report.it_is_in_inside_the"))


def _picked() -> None:
    """A misread digit chosen: it goes through the inside views (opened) instead of the drawing."""
    pick = st.session_state.get(state.REPORT_PICK)
    data, _ = state.mnist_or_error()
    if pick is None or data is None:
        return
    image = data.x_test[pick].astype(np.float32) / 255.0
    st.session_state[state.INSIDE_DIGIT] = (pick, image, int(data.y_test[pick]))
    st.session_state[state.INSIDE_OPEN] = True
    st.session_state[state.REPORT_PICK] = None


def _digits(indices, rep, data) -> str:
    alts, caps = [], []
    for i in indices:
        true, p, c = int(data.y_test[i]), int(rep.predicted[i]), float(rep.confidence[i])
        alts.append(t("report.test_digit_a_read_as", i=i, t=true, p=p, c=c))
        caps.append(f"{true}→{p} {c:.0%}")
    images = [png(grey(data.x_test[i].astype(np.float32), 255.0)) for i in indices]
    return grid(images, alts, 52, 12, captions=caps)
