"""Setups as links: the training form's settings live in the page's link, so a teacher can prepare
links before a lesson (`?net=cnn&recipe=fast&epochs=2&batch=128&lr=0.003&seed=7`).

Opening a link fills the form once per visit; a value the form cannot take falls back to the
recipe's default with a one-line note. Every change to the form updates the link: it names the
network and recipe, and each setting that differs from the recipe's default.
"""

from __future__ import annotations

import streamlit as st

from mnist_demo import MODEL_KINDS
from mnist_demo.training.recipes import RECIPES, Recipe
from studio import form, state
from studio.i18n import t

NET, RECIPE = "net", "recipe"
# A setting's name in the link -> its name in the form's keys (state.SETTING).
LINKED = {"seconds": "budget", "steps": "steps", "epochs": "epochs", "batch": "batch"}
RATE, SEED = "lr", "seed"
DEFAULTS = {NET: next(iter(MODEL_KINDS)), RECIPE: "class"}  # the form's first choices


def read_once(recipes: tuple[str, ...]) -> None:
    """Before the form is drawn, once per visit: the link's setup into the form's keys."""
    if state.LINK_READ in st.session_state:
        return
    st.session_state[state.LINK_READ] = "read"
    link, notes = st.query_params, []
    kind = _choice(link, NET, tuple(MODEL_KINDS), notes)
    name = _choice(link, RECIPE, recipes, notes)
    st.session_state[state.TRAIN_KIND], st.session_state[state.TRAIN_RECIPE] = kind, name
    base = RECIPES[(kind, name)]
    for param in (*LINKED, RATE, SEED):
        if param not in link:
            continue
        setting, value, why = _setting(param, link[param], base)
        if why:
            notes.append(why)
        else:
            st.session_state[state.SETTING.format(setting, kind, name)] = value
    st.session_state[state.LINK_NOTE] = _one_line(notes)


def _setting(param: str, text: str, base: Recipe) -> tuple[str, object, str | None]:
    """(the form's setting, its value, None) or (.., .., why the form cannot take it)."""
    if param == RATE:
        rate = _rate(text, form.rates(base))
        return "lr", rate, None if rate is not None else t("setup_link.the_link_s_lr_is", text=text)
    setting = LINKED.get(param, param)
    bounds = form.bounds(base, setting)
    if bounds is None:
        return (
            setting,
            None,
            t("setup_link.the_recipe_has_no_the", name=base.name, param=param, text=text),
        )
    value = _integer(text, bounds)
    if value is None:
        return (
            setting,
            None,
            t("setup_link.the_link_s_is_not_2", param=param, text=text, v5=bounds[0], v7=bounds[1]),
        )
    return setting, value, None


def write(recipe: Recipe, base: Recipe) -> None:
    """After the form: the link in step with it; only a change is sent to the browser."""
    length = {"seconds": "budget_s", "steps": "steps", "epochs": "epochs"}
    want = {  # param: (the form's value, the default the link leaves out)
        NET: (recipe.model, DEFAULTS[NET]),
        RECIPE: (base.name, DEFAULTS[RECIPE]),
        "batch": (recipe.batch_size, base.batch_size),
        RATE: (f"{recipe.learning_rate:g}", f"{base.learning_rate:g}"),
        SEED: (st.session_state.get(state.SETTING.format("seed", recipe.model, base.name)), None),
    }
    param = "seconds" if base.budget_s is not None else "steps" if base.steps else "epochs"
    mine, theirs = getattr(recipe, length[param]), getattr(base, length[param])
    want[param] = (int(mine), int(theirs))
    first = st.session_state.get(state.LINK_READ) == "read"  # the note stays for this run
    st.session_state[state.LINK_READ] = "written"
    for param in (NET, RECIPE, *LINKED, RATE, SEED):
        value, default = want.get(param, (None, None))
        shown = None if value == default else str(value)
        if st.query_params.get(param) == shown:
            continue
        if shown is None:
            del st.query_params[param]
        else:
            st.query_params[param] = shown
        if not first:
            st.session_state[state.LINK_NOTE] = None  # the link is the form's now


def note_ui() -> None:
    """The note on a link's values the form could not take, until the form changes."""
    note = st.session_state.get(state.LINK_NOTE)
    if note:
        st.caption(note)


def _choice(link, param: str, choices: tuple[str, ...], notes: list[str]) -> str:
    value = link.get(param)
    if value is None or value in choices:
        return value or DEFAULTS[param]
    notes.append(
        t("setup_link.the_link_s_is_not", param=param, value=value, join=", ".join(choices))
    )
    return DEFAULTS[param]


def _integer(text: str, bounds: tuple[int, int]) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if bounds[0] <= value <= bounds[1] else None


def _rate(text: str, allowed: list[float]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    near = [r for r in allowed if abs(r - value) <= 1e-9 + 1e-6 * r]
    return near[0] if near else None


def _one_line(notes: list[str]) -> str | None:
    """ "The link's batch=x is not from 8 to 1024: the default is used." in one line, or None."""
    if not notes:
        return None
    text = "; ".join(notes)
    return (
        text[0].upper()
        + text[1:]
        + (
            t("setup_link.the_default_is_used")
            if len(notes) == 1
            else t("setup_link.defaults_used")
        )
    )
