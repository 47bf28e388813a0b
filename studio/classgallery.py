"""The teacher's view of the class's digits: each with what the class's model reads in it,
filtered by digit and by "misread", each removable; and "Fine-tune on the class's digits", the
personal fine-tune's engine and held-out fold (mnist_demo/training/finetune.py) on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from mnist_demo import MODEL_KINDS, settings
from mnist_demo.serving.jobs import ACTIVE
from studio import state
from studio.classlink import classes, room
from studio.i18n import t
from studio.pictures import png

SHOWN = 48  # digits with a picture each; the filter finds the rest
ALL = "all"


def gallery_ui(r) -> None:
    """The class's digits and the fine-tune (a fragment of the teacher's page: students send
    digits while it is open)."""
    digits = r.sent()
    with st.expander(t("classgallery.the_class_s_digits", len=len(digits)), expanded=bool(digits)):
        st.caption(
            t(
                "classgallery.students_send_a_digit_with",
                get=settings.CLASS_DIGITS_PER_STUDENT.get(),
                get2=settings.CLASS_DIGITS.get(),
            )
        )
        kind = st.radio(
            t("classgallery.the_network_that_reads_and"),
            list(MODEL_KINDS),
            format_func=MODEL_KINDS.get,
            horizontal=True,
            key=state.CLASS_SHOW + "_kind",
        )
        reads, reader = readings(r, kind, digits)
        shown = _filter_ui(digits, reads)
        if digits:
            st.caption(t("classgallery.read_by", reader=reader))
        _grid(shown, reads)
        _finetune_ui(r, kind, digits, reader)


def readings(r, kind: str, digits) -> tuple[dict[int, int], str]:
    """{digit id: what the class's model of `kind` reads} (the shipped one's before the class
    has its own), and which model read them."""
    if kind in r.models:
        model, name = r.models[kind].model, t("classgallery.the_class_s", v1=MODEL_KINDS[kind])
    else:
        model, name = shipped(kind), t("classgallery.the_shipped", v1=MODEL_KINDS[kind])
    if model is None or not digits:
        return {}, name
    return _read(r.code, r.version, kind, tuple(d.id for d in digits), model), name


def shipped(kind: str):
    """The shipped network of `kind` (weights/KIND.keras), loaded once per server, or None."""
    path = next((m.path for m in state.saved_models() if m.name == kind and m.error is None), None)
    if path is None:
        return None
    stat = Path(path).stat()
    predictor, _ = state.load_predictor(str(path), stat.st_mtime, stat.st_size)
    return predictor.model if predictor is not None else None


@st.cache_resource(show_spinner=False, max_entries=4)
def _read(code: str, version: int, kind: str, ids: tuple, _model) -> dict[int, int]:
    from mnist_demo.nets.inference import predict_probs  # TensorFlow: see state.load_predictor

    digits = {d.id: d for d in classes().get(code).sent()}
    kept = [i for i in ids if i in digits]
    x = np.stack([digits[i].x for i in kept])
    return dict(zip(kept, predict_probs(_model, x).argmax(1).tolist()))


def _filter_ui(digits, reads: dict[int, int]) -> list:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    pick = left.segmented_control(
        t("classgallery.show"),
        [ALL, *map(str, range(10))],
        format_func={ALL: t("classgallery.all"), **{str(d): str(d) for d in range(10)}}.get,
        default=ALL,
        key=state.CLASS_SHOW,
    )
    misread = right.toggle(t("classgallery.only_misread"), key=state.CLASS_SHOW + "_misread")
    shown = [d for d in digits if pick in (None, ALL) or d.y == int(pick)]
    if misread:
        shown = [d for d in shown if d.id in reads and reads[d.id] != d.y]
    return shown[::-1]


def _grid(shown, reads: dict[int, int]) -> None:
    r = room()
    for row in range(0, min(len(shown), SHOWN), 8):
        for col, d in zip(st.columns(8), shown[row : row + 8]):
            read = reads.get(d.id)
            said = (
                ""
                if read is None
                else t("classgallery.read", read=read, v3="✓" if read == d.y else "✗")
            )
            col.html(
                f'<img src="{png(np.kron(d.x, np.ones((2, 2), np.uint8)))}" alt="a class {d.y}'
                f'{said}" style="image-rendering:pixelated;max-width:100%"><br>a {d.y}{said}'
            )
            col.button(
                t("classgallery.remove"),
                key=f"class_remove_{d.id}",
                on_click=r.remove,
                args=(d.id,),
            )
    if len(shown) > SHOWN:
        st.caption(t("classgallery.the_latest_of_filter_by", shown=SHOWN, len=len(shown)))


def _finetune_ui(r, kind: str, digits, reader: str) -> None:
    from studio.train import start_training  # the training panel's own start

    job = st.session_state.get(state.JOB)
    busy = job is not None and job.state in ACTIVE
    pressed = st.button(
        t("classgallery.fine_tune_on_the_class"),
        type="primary",
        key="class_finetune",
        disabled=busy or len(digits) < 2,
        help=t("classgallery.starts_from_and_trains_a", reader=reader),
    )
    model = r.models[kind].model if kind in r.models else shipped(kind)
    if pressed and not busy and model is not None:
        from mnist_demo.training.finetune import FineTune

        x = np.stack([d.x for d in digits])
        y = np.array([d.y for d in digits], np.uint8)
        spec = FineTune(kind, model.get_weights(), x, y, base=reader)
        start_training(spec.recipe, spec)
        st.rerun(scope="app")  # the training panel (and every student's page) shows the run
