"""Teach the networks your handwriting: correct a prediction, keep your digits, fine-tune on them.

Under the predictions, "Wrong? This is a ..." keeps the drawing with the digit it really is, and
"Right" keeps it with the digit the networks read. "My digits" shows what was kept (the drawing
and the 28x28 the networks see), per digit, each removable; it downloads as an .npz and uploads
again later. "Fine-tune on my digits" trains the chosen network on them as a training job
(mnist_demo/training/finetune.py); when it ends it answers the drawings, and the training panel says how
it did before and after.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import streamlit as st
from PIL import Image

from mnist_demo import MODEL_KINDS
from mnist_demo.serving.jobs import ACTIVE
from mnist_demo.storage.teach import MAX_TAUGHT, TaughtFileError, as_uint8, counts, from_npz, to_npz
from studio import classlink, state
from studio.cards import plain
from studio.i18n import t
from studio.pictures import png

THUMB = 56  # pixels: the drawing's thumbnail, and the 28x28 shown twice its size
SHOWN = 60  # the gallery's latest digits with a picture each (all count and download)
_ids = itertools.count(1)


def teach_bar_ui(drawing: np.ndarray, x: np.ndarray, read: list[tuple[str, int]]) -> None:
    """Under the predictions: "Wrong? This is a ..." and "Right" (when the networks agree; when
    they do not, a line asks which digit it is)."""
    digits_read = {digit for _, digit in read}
    answer = next(iter(digits_read)) if len(digits_read) == 1 else None
    digits = st.session_state[state.TAUGHT_DIGITS]
    x8 = as_uint8(x)
    key = hashlib.sha1(x8.tobytes()).hexdigest()
    kept = next((d for d in digits if d["key"] == key), None)
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    left.segmented_control(
        t("teach.wrong_this_is_a"),
        [str(d) for d in range(10)],
        key=state.TEACH_PICK,
        on_change=_picked,
        args=(drawing, x8, key),
        help=t("teach.keep_this_drawing_as_the"),
    )
    if answer is not None:
        right.button(
            t("teach.right_a", answer=answer),
            key=state.TEACH_RIGHT,
            on_click=teach,
            args=(drawing, x8, key, answer),
            width="stretch",
        )
    elif len(digits_read) > 1:
        said = ", ".join(t("teach.reads", name=name, digit=digit) for name, digit in read)
        right.caption(t("teach.which_is_it_pick_it", said=said))
    note = st.session_state.get(state.TEACH_NOTE)
    classlink.note_ui()
    if kept is not None:
        st.caption(t("teach.kept_in_my_digits_as", y=kept["y"]))
    elif note:
        getattr(st, note[0])(note[1])


def _picked(drawing, x8, key) -> None:
    pick = st.session_state.get(state.TEACH_PICK)
    st.session_state[state.TEACH_PICK] = None  # ready for the next drawing
    if pick is not None:
        teach(drawing, x8, key, int(pick))


def teach(drawing, x8: np.ndarray, key: str, digit: int) -> None:
    """Keep the drawing as `digit` (a drawing kept already changes its digit)."""
    digits = st.session_state[state.TAUGHT_DIGITS]
    st.session_state[state.TEACH_NOTE] = None
    for d in digits:
        if d["key"] == key:
            d["y"] = digit
            return
    classlink.send(x8, digit)  # in a class, to the class too (once a drawing)
    if len(digits) >= MAX_TAUGHT:
        st.session_state[state.TEACH_NOTE] = (
            "warning",
            t("teach.my_digits_holds_already_remove", max_taught=MAX_TAUGHT),
        )
        return
    digits.append(_kept(key, x8, digit, _thumb(drawing)))


def _kept(key: str, x8: np.ndarray, digit: int, thumb: np.ndarray | None) -> dict:
    """A kept digit, with its gallery picture made once (not at every stroke's rerun): the
    drawing's thumbnail, when there is one, beside the 28x28 at twice its size."""
    big = np.kron(x8, np.ones((2, 2), np.uint8))
    picture = png(big if thumb is None else np.concatenate([thumb, big], 1))
    return {"id": next(_ids), "key": key, "x": x8, "y": digit, "picture": picture}


def _thumb(drawing: np.ndarray | None) -> np.ndarray | None:
    """The drawing as people see it, small: grey (THUMB, THUMB), light ink on dark."""
    if drawing is None:
        return None
    im = np.asarray(drawing, dtype=np.float32)
    grey = im[..., :3].mean(2) if im.ndim == 3 else im
    if im.ndim == 3 and im.shape[2] == 4:  # the canvas: ink over a transparent background
        grey = grey * im[..., 3] / 255
    small = Image.fromarray(grey.round().astype(np.uint8)).resize(
        (THUMB, THUMB), Image.Resampling.BOX
    )
    return np.asarray(small)


def my_digits_ui(choices) -> None:
    """The gallery, its file, and the fine-tune button."""
    digits = st.session_state[state.TAUGHT_DIGITS]
    if len(digits) > st.session_state.get(state.MY_DIGITS_SHOWN, 0):
        st.session_state[state.MY_DIGITS_OPEN] = True  # a digit just kept: show it there
    st.session_state[state.MY_DIGITS_SHOWN] = len(digits)
    box = st.expander(
        t("teach.my_digits", len=len(digits)), key=state.MY_DIGITS_OPEN, on_change="rerun"
    )
    if not box.open:
        return  # closed: nothing inside runs (a stroke reruns this fragment, for 32 visitors)
    with box:
        if not digits:
            st.caption(t("teach.digits_you_keep_with_wrong"))
        else:
            per = counts([d["y"] for d in digits])
            st.markdown("  ·  ".join(f"**{k}**: {n}" for k, n in enumerate(per) if n))
            _gallery(digits)
        _file_ui(digits)
        finetune_ui(digits, choices)


def _gallery(digits: list[dict]) -> None:
    shown = digits[-SHOWN:][::-1]
    if len(digits) > SHOWN:
        st.caption(t("teach.the_latest_of", shown=SHOWN, len=len(digits)))
    for row in range(0, len(shown), 6):
        for col, d in zip(st.columns(6), shown[row : row + 6]):
            col.html(
                f'<img src="{d["picture"]}" alt="a taught {d["y"]}" '
                f'style="image-rendering:pixelated;max-width:100%"><br>a {d["y"]}'
            )
            col.button(
                t("teach.remove"), key=f"teach_remove_{d['id']}", on_click=_remove, args=(d["id"],)
            )


def _remove(ident: int) -> None:
    digits = st.session_state[state.TAUGHT_DIGITS]
    digits[:] = [d for d in digits if d["id"] != ident]


def _file_ui(digits: list[dict]) -> None:
    left, right = st.columns(2)
    if digits:
        left.download_button(
            t("teach.download_my_digits_npz"),
            _file(digits),
            file_name="my-digits.npz",
            mime="application/octet-stream",
            on_click="ignore",
        )
    upload = right.file_uploader(
        t("teach.add_digits_from_a_file"), type=["npz"], key=state.TEACH_UPLOAD
    )
    if upload is not None and upload.file_id not in st.session_state[state.TEACH_FILES]:
        st.session_state[state.TEACH_FILES].add(upload.file_id)
        st.session_state[state.TEACH_FILE_NOTE] = _add_file(upload.name, upload.getvalue())
    note = st.session_state.get(state.TEACH_FILE_NOTE)
    if note:
        getattr(right, note[0])(note[1])


def _file(digits: list[dict]) -> bytes:
    """The digits as an .npz, written again only when they change (not at every stroke)."""
    version = tuple((d["id"], d["y"]) for d in digits)
    cached = st.session_state.get(state.TEACH_FILE_BYTES)
    if cached is None or cached[0] != version:
        cached = (version, to_npz(np.stack([d["x"] for d in digits]), [d["y"] for d in digits]))
        st.session_state[state.TEACH_FILE_BYTES] = cached
    return cached[1]


def _add_file(name: str, data: bytes) -> tuple[str, str]:
    digits = st.session_state[state.TAUGHT_DIGITS]
    try:
        x, y = from_npz(data, name, MAX_TAUGHT)
    except TaughtFileError as e:
        return "error", plain(str(e))  # the name is the visitor's: shown as typed, not rendered
    room = MAX_TAUGHT - len(digits)
    known = {d["key"] for d in digits}
    added = 0
    for xi, yi in zip(x[:room], y[:room]):
        key = hashlib.sha1(xi.tobytes()).hexdigest()
        if key not in known:
            digits.append(_kept(key, xi, int(yi), None))
            known.add(key)
            added += 1
    left_out = (
        t("teach.left_out_at_most", v1=len(x) - room, max_taught=MAX_TAUGHT)
        if len(x) > room
        else ""
    )
    return "success", plain(t("teach.added_digits_from", added=added, name=name, left_out=left_out))


def finetune_ui(digits: list[dict], choices) -> None:
    from studio.train import start_training  # the training panel's own start

    job = st.session_state.get(state.JOB)
    busy = job is not None and job.state in ACTIVE
    usable = [c for c in choices if c.predictor is not None]
    if not usable:
        return
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    kind = left.radio(
        t("teach.which_one_learns_your_digits"),
        [c.kind for c in usable],
        horizontal=True,
        format_func=MODEL_KINDS.get,
        key=state.TEACH_KIND,
    )
    pressed = right.button(
        t("teach.fine_tune_on_my_digits"),
        type="primary",
        key=state.TEACH_FINETUNE,
        disabled=busy or len(digits) < 2,
    )
    st.caption(t("teach.it_starts_from_the_model"))
    if pressed and not busy:
        from mnist_demo.training.finetune import FineTune

        choice = next(c for c in usable if c.kind == kind)
        x = np.stack([d["x"] for d in digits])
        y = np.array([d["y"] for d in digits], np.uint8)
        spec = FineTune(kind, choice.predictor.model.get_weights(), x, y, base=choice.label)
        start_training(spec.recipe, spec)
        st.rerun(scope="app")  # the training panel shows the run
