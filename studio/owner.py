"""Whose saved models are whose, across reloads: a random token the browser keeps (its local
storage: every tab of that browser, for good), of which the server keeps only a hash in the
models saved from it. The token never leaves the browser but to this server; the hash in a
model's record, which anyone may download, cannot be turned back into it.

A visitor may replace or delete a model when this session saved it, or when its record's owner
is this browser's; or anyone, on a server run with MNIST_STUDIO_ADMIN=1.
"""

from __future__ import annotations

import functools
import hashlib
import re

import streamlit as st

from studio import state

_TOKEN = re.compile(r"[0-9a-f-]{32,64}")
_JS = """
export default function ({ data, setStateValue }) {
  if (data.known) return;  // the server has it already: no rerun for nothing
  let token = null;
  try {
    token = window.localStorage.getItem("mnist-studio-owner");
    if (!token) {
      token = crypto.randomUUID();
      window.localStorage.setItem("mnist-studio-owner", token);
    }
  } catch (e) {
    return;  // storage off (a private window's policy): ownership lasts for the session
  }
  setStateValue("token", token);
}
"""


@functools.cache
def _component():
    return st.components.v2.component("mnist_studio.owner", html="<span></span>", js=_JS)


def owner_ui() -> None:
    """Learn this browser's token once a session (it arrives with the next rerun)."""
    known = st.session_state.get(state.OWNER) is not None
    result = _component()(
        data={"known": known},
        key="owner-token",
        default={"token": None},
        on_token_change=lambda: None,
    )
    token = result.get("token")
    if not known and isinstance(token, str) and _TOKEN.fullmatch(token):
        st.session_state[state.OWNER] = hashlib.sha256(token.encode()).hexdigest()


def owner() -> str | None:
    """This browser's owner id (a hash of its token), or None before it is known."""
    me = st.session_state.get(state.OWNER)
    return me if isinstance(me, str) else None


def mine(name: str, meta: dict | None) -> bool:
    """Whether this visitor may replace or delete the visitors' model `name` (record `meta`)."""
    if state.ADMIN or name in st.session_state[state.MINE]:
        return True
    me = owner()
    return me is not None and (meta or {}).get("owner") == me
