"""The models on this server, listed for every visitor: where each comes from, how good it is,
a download, and a delete (asked first) for the ones this visitor saved."""

from __future__ import annotations

import functools
import threading
import time

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.errors import MnistDemoError
from mnist_demo.storage.saving import delete_model
from mnist_demo.storage.store import saves_root
from studio import state
from studio.cards import plain
from studio.i18n import t
from studio.owner import mine
from studio.streamlit_internals import QuietError

CONFIRM = "delete_confirm"  # the model whose Delete was pressed, to confirm
# A Download press sends the browser's request for the file and reruns the page at the same
# moment; the rerun revokes the file's link when it draws the button again, and a request it
# beats fails ("Deferred file ... not found", seen on a busy 2-core CPU). The press's callback
# runs before anything is drawn: it waits this long at most for the file to have been read.
READ_WAIT_S = 1.0
_READS: dict[str, float] = {}  # path -> when it was last read for a download
_READ = threading.Condition()


def ask_delete(name: str) -> None:
    st.session_state[CONFIRM] = name


def confirm_ui(name: str) -> None:
    """Delete asks first: a deleted model is gone for every visitor."""
    c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="center")
    c1.warning(plain(t("library.delete_for_every_visitor_it", name=name)))
    c2.button(
        t("library.yes_delete"), key="delete_yes", on_click=delete, args=(name,), type="primary"
    )
    c3.button(t("library.keep_it"), key="delete_no", on_click=ask_delete, args=(None,))


def delete(name: str) -> None:
    st.session_state[CONFIRM] = None
    try:
        delete_model(name, saves_root())
        text = ("success", plain(t("library.deleted", name=name)))
    except (MnistDemoError, OSError) as e:
        text = (
            "error",
            plain(t("library.could_not_delete", name=name, v3=getattr(e, "strerror", None) or e)),
        )
    st.session_state[state.MINE].discard(name)
    st.session_state[state.SAVE_NOTE] = text
    st.session_state[state.SAVE_SUGGESTED] = None


def model_line(m, own: bool) -> str:
    """A model's line in the list: its name, kind, accuracy, whose it is and its size."""
    if m.accuracy is not None:
        acc = t("library.test_accuracy", accuracy=m.accuracy)
    else:
        acc = t("library.accuracy_unknown")
    whose = "library.yours" if own else "library.a_visitor_s" if state.visitors(m) else None
    size = m.path.stat().st_size if m.path.exists() else 0
    kind = MODEL_KINDS.get(m.kind, m.kind)
    return t(
        "library.mb",
        name=m.name,
        get=kind,
        acc=acc,
        whose=t(whose or "library.shipped"),
        v8=size / 2**20,
    )


def library_ui(models) -> None:
    """Every usable model: where it comes from and how good it is, a download, and a delete for
    the ones this session saved."""
    for m in models:
        own = state.visitors(m) and mine(m.name, m.meta)
        c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="center")
        c1.markdown(plain(model_line(m, own)))
        c2.download_button(
            t("library.download"),
            data=functools.partial(_read, m.path),
            file_name=m.path.name,
            mime="application/zip",
            key=f"download_{m.name}",
            on_click=gone_check,  # the press reruns the page too: it says when the file is gone
            args=(m.name, m.path),
            width="stretch",
        )
        if own:
            c3.button(
                t("library.delete"),
                key=state.DELETE.format(m.name),
                on_click=ask_delete,
                args=(m.name,),
                width="stretch",
            )
        if own and st.session_state.get(CONFIRM) == m.name:
            confirm_ui(m.name)


def _read(path) -> bytes:
    """A model file's bytes, read when its Download is pressed (not at every rerun)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise QuietError(t("library.was_deleted_after_the_list", name=path.name)) from None
    finally:
        with _READ:
            _READS[str(path)] = time.monotonic()
            _READ.notify_all()


def gone_check(name: str, path) -> None:
    """A Download pressed for a model deleted since the list was shown says it is gone; for one
    still there, the rerun waits for the browser's request to have read it (READ_WAIT_S)."""
    if not path.exists():
        text = t("library.was_deleted_after_this_list", name=name)
        st.session_state[state.SAVE_NOTE] = ("warning", plain(text))
        st.session_state[state.SAVE_SUGGESTED] = None
        return
    pressed = time.monotonic()
    with _READ:
        _READ.wait_for(
            lambda: _READS.get(str(path), -1e9) >= pressed - READ_WAIT_S, timeout=READ_WAIT_S
        )
