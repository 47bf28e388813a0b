"""Saved models: save the one trained in this session, download any, delete your own.

Visitors save into a folder of their own (store.saves_root()), apart from the shipped models. A
name that is taken is refused with a free one to use instead, unless this session saved it (a
replace is then confirmed) or the server runs with MNIST_STUDIO_ADMIN=1. The server keeps at most
MNIST_STUDIO_MAX_SAVED models of MNIST_STUDIO_MAX_SAVED_MB in all, each visitor at most
MNIST_STUDIO_MAX_SAVED_PER_VISITOR of MNIST_STUDIO_MAX_SAVED_MB_PER_VISITOR (so that no one
fills it alone), and it needs room on its disk.
"""

from __future__ import annotations

import logging
import threading
import time

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.errors import MnistDemoError, SaveRefused
from mnist_demo.storage.saving import (
    check_room,
    check_share,
    free_name,
    name_to_save,
    save_model,
    unique_name,
)
from mnist_demo.storage.store import saves_root, shipped_name, weights_root
from studio import state
from studio.cards import plain
from studio.i18n import error_text, t
from studio.library import library_ui
from studio.owner import mine, owner

log = logging.getLogger(__name__)
COMMAND = "trained in MNIST Studio (streamlit run app.py)"  # the record's "command"
AUTO_NAME = "save_auto_name"  # the default name last offered
LAST_SAVE = "save_last"  # (the model, when its save ended): to tell a second press of one click
DOUBLE_PRESS_S = 2.0
_SAVING = threading.Lock()  # one save at a time on the server: rooms and shares count each one


def save_ui(saved) -> None:
    trained = st.session_state[state.TRAINED]
    usable = [m for m in saved if m.error is None]
    st.subheader(t("save.saved_models"))
    if trained:
        save_form_ui(trained)
    note = st.session_state.get(state.SAVE_NOTE)
    if note:
        getattr(st, note[0])(note[1])
        suggestion = st.session_state.get(state.SAVE_SUGGESTED)
        if suggestion:
            st.button(
                t("save.save_as", suggestion=suggestion),
                key="save_suggested_button",
                on_click=use_name,
                args=(suggestion,),
            )
    with st.expander(t("save.the_models_on_this_server", len=len(usable)), expanded=False):
        library_ui(usable)


def save_form_ui(trained: dict) -> None:
    c1, c2, c3 = st.columns([1, 2, 1], vertical_alignment="bottom")
    kind = c1.selectbox(
        t("save.model"),
        list(trained),
        format_func=MODEL_KINDS.get,
        key=state.SAVE_KIND,
        on_change=fresh_name,
    )
    if not st.session_state.get(state.SAVE_NAME):
        fresh_name(kind)
    c2.text_input(t("save.name"), key=state.SAVE_NAME, max_chars=64)
    c3.button(t("save.save"), key=state.SAVE, on_click=save, args=(kind,), width="stretch")
    try:
        stem = name_to_save(st.session_state[state.SAVE_NAME])
    except MnistDemoError:
        return  # the Save button says why
    if mine(stem, _meta(stem)):
        if (saves_root() / f"{stem}.keras").exists():
            st.checkbox(
                t("save.replace_the_model_saved_earlier", stem=stem), key=state.SAVE_REPLACE
            )


def fresh_name(kind: str | None = None) -> None:
    """A default name nobody else has (`my-cnn-` and six random letters), unless the visitor
    typed one of their own."""
    kind = kind or st.session_state[state.SAVE_KIND]
    typed = st.session_state.get(state.SAVE_NAME)
    if not typed or typed == st.session_state.get(AUTO_NAME):
        st.session_state[state.SAVE_NAME] = st.session_state[AUTO_NAME] = unique_name(f"my-{kind}")


def use_name(name: str) -> None:
    st.session_state[state.SAVE_NAME] = name
    st.session_state[state.SAVE_SUGGESTED] = None
    save(st.session_state.get(state.SAVE_KIND) or next(iter(st.session_state[state.TRAINED])))


def save(kind: str) -> None:
    """Save this session's `kind` model under the name typed; a note says how it went."""
    result = st.session_state[state.TRAINED].get(kind)
    st.session_state[state.SAVE_SUGGESTED] = None
    if result is None:
        return
    with _SAVING:
        if _double_press(result):
            return
        path = _write(result, kind)
        if path is None:
            return
        st.session_state[LAST_SAVE] = (result, time.monotonic())
    st.session_state[state.MINE].add(path.stem)
    st.session_state[state.SAVE_REPLACE] = False
    st.session_state[state.SAVE_NAME] = None
    fresh_name(kind)  # the next save's
    text = t("save.saved_as_it_is_now", name=path.name)
    st.session_state[state.SAVE_NOTE] = ("success", plain(text))


def _double_press(result) -> bool:
    """Save pressed again within DOUBLE_PRESS_S of this model's save, under the name offered
    after it: the same click twice (a double click, or one press dispatched twice), not a copy."""
    last = st.session_state.get(LAST_SAVE)
    return (
        last is not None
        and last[0] is result
        and time.monotonic() - last[1] < DOUBLE_PRESS_S
        and st.session_state.get(state.SAVE_NAME) == st.session_state.get(AUTO_NAME)
    )


def _write(result, kind: str):
    """The saved file's path; None when it was refused or failed (the note says why)."""
    try:
        stem, replace = may_save(st.session_state.get(state.SAVE_NAME) or "")
        need = result.model.count_params() * 4 + (1 << 20)  # float32 weights and the archive
        more = 1 if replace else 0  # a replace adds no model
        check_room(saves_root(), need, state.MAX_SAVED + more, state.MAX_SAVED_MB)
        check_share(own_saves(but=stem), need, state.MAX_PER_VISITOR, state.MAX_MB_PER_VISITOR)
        meta = result.metadata(COMMAND)
        if owner() is not None:
            meta["owner"] = owner()  # the hash of this browser's token: it owns it after a reload
        return save_model(result.model, stem, meta, saves_root(), replace=replace)
    except SaveRefused as e:
        text = error_text(e) + (t("save.instead", suggestion=e.suggestion) if e.suggestion else ".")
        st.session_state[state.SAVE_NOTE] = ("error", plain(text))
        st.session_state[state.SAVE_SUGGESTED] = e.suggestion
    except MnistDemoError as e:
        st.session_state[state.SAVE_NOTE] = ("error", plain(error_text(e)))
    except OSError as e:
        log.warning("saving %s failed: %s", kind, e)
        reason = e.strerror or type(e).__name__
        st.session_state[state.SAVE_NOTE] = (
            "error",
            plain(t("save.could_not_save", reason=reason)),
        )
    return None


def may_save(name: str) -> tuple[str, bool]:
    """(file stem, whether it replaces a model) for a save under `name` by this session; or
    SaveRefused: a shipped model's name, another visitor's, or one of its own not confirmed."""
    stem, folder = name_to_save(name), saves_root()
    shipped = shipped_name(stem)
    if shipped is not None:
        other = free_name(stem, folder, weights_root())
        raise SaveRefused(t("save.is_the_name_of_the", stem=stem, shipped=shipped), other)
    exists = (folder / f"{stem}.keras").exists()
    if exists and not mine(stem, _meta(stem)):
        other = free_name(stem, folder, weights_root())
        raise SaveRefused(t("save.a_model_named_belongs_to", stem=stem), other)
    if exists and not st.session_state.get(state.SAVE_REPLACE):
        raise SaveRefused(t("save.you_saved_a_model_named", stem=stem))
    return stem, exists


def own_saves(but: str | None = None) -> list:
    """The files of the visitors' models this browser (or this session) saved, but `but`:
    the share each visitor has of the server."""
    folder, me = saves_root().resolve(), owner()
    return [
        m.path
        for m in state.saved_models()
        if m.path.parent.resolve() == folder
        and m.name != but
        and (m.name in st.session_state[state.MINE] or (me and m.meta.get("owner") == me))
    ]


def _meta(stem: str) -> dict | None:
    """The record of the visitors' model `stem`, if it is listed."""
    folder = saves_root().resolve()
    found = (
        m for m in state.saved_models() if m.name == stem and m.path.parent.resolve() == folder
    )
    return next((m.meta for m in found), None)
