"""The training form: a recipe's length (seconds, steps or epochs), batch size, learning rate
(which stays live during a training) and seed, within limits that end inside the server's time
limit."""

from __future__ import annotations

import random

import streamlit as st

from mnist_demo.serving.jobs import ACTIVE
from mnist_demo.training.recipes import RECIPES, Recipe
from studio import state
from studio.i18n import t

# The form's limits: at the recipes' batch sizes a training within them ends inside MAX_TRAIN_S
# (the seed CNN's 10,000 steps take about 4 minutes, 20 CNN epochs about 4, 50 MLP epochs 2);
# the time limit stops anything larger and keeps its model.
MAX_STEPS, MAX_BATCH, MAX_EPOCHS = 20_000, 1024, {"cnn": 20, "mlp": 50}
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2, 3e-2, 1e-1)
MAX_BUDGET_S = {"cnn": 300, "mlp": 120}
BUDGET_HELP = "form.how_long_it_trains_evaluations"


def bounds(base: Recipe, setting: str) -> tuple[int, int] | None:
    """(low, high) the form allows `setting` of `base`, or None where the recipe has none."""
    length = "budget" if base.budget_s is not None else "steps" if base.steps else "epochs"
    if setting in ("budget", "steps", "epochs") and setting != length:
        return None
    return {
        "budget": (5, MAX_BUDGET_S[base.model]),
        "steps": (10, MAX_STEPS),
        "epochs": (1, MAX_EPOCHS[base.model]),
        "batch": (8, MAX_BATCH),
        "seed": (0, 2**31 - 1),
    }[setting]


def rates(base: Recipe) -> list[float]:
    """The learning rates the form offers for `base`: the usual ones and the recipe's own."""
    return sorted({*LEARNING_RATES, base.learning_rate})


def recipe_ui(kind: str, recipe_name: str, disabled: bool) -> Recipe:
    """The chosen recipe, with the user's steps or epochs, batch size and learning rate. The
    widgets' first values go through session state, where a setup link (setup_link.py) may have
    put its own."""
    base = RECIPES[(kind, recipe_name)]

    def number(col, label, name, value, step, **kw):
        key = state.SETTING.format(name, kind, recipe_name)
        st.session_state.setdefault(key, value)
        low, high = bounds(base, name)
        return col.number_input(label, low, high, step=step, key=key, disabled=disabled, **kw)

    c1, c2, c3, c4 = st.columns([2, 2, 3, 2])
    if base.budget_s is not None:
        budget = number(c1, t("form.seconds"), "budget", int(base.budget_s), 5, help=t(BUDGET_HELP))
        changes = {"budget_s": float(budget)}
    elif base.steps is not None:
        changes = {"steps": int(number(c1, t("form.steps"), "steps", base.steps, 100))}
    else:
        changes = {"epochs": int(number(c1, t("form.epochs"), "epochs", base.epochs, 1))}
    changes["batch_size"] = int(number(c2, t("form.batch_size"), "batch", base.batch_size, 8))
    rate = _rate_ui(c3, base)
    changes["seed"] = _seed_ui(c4, kind, recipe_name, disabled)
    return base.with_(**changes, learning_rate=float(rate))


def _rate_ui(col, base: Recipe) -> float:
    key = state.SETTING.format("lr", base.model, base.name)
    st.session_state.setdefault(key, base.learning_rate)
    return col.select_slider(
        t("form.learning_rate"),
        rates(base),
        format_func=lambda r: f"{r:g}",
        key=key,
        on_change=rate_changed,
        args=(key,),
        help=t("form.how_big_a_step_the"),
    )  # stays enabled while a training runs


def _seed_ui(col, kind: str, recipe_name: str, disabled: bool) -> int:
    seed = col.number_input(
        t("form.seed"),
        0,
        2**31 - 1,
        None,
        1,
        key=state.SETTING.format("seed", kind, recipe_name),
        placeholder=t("form.random"),
        disabled=disabled,
        help=t("form.the_same_seed_and_settings"),
    )
    return int(seed) if seed is not None else random.randrange(2**31)


def rate_changed(key: str) -> None:
    """A new rate during a training: the recipe's rate (and schedule) scaled to it."""
    job = st.session_state.get(state.JOB)
    if job is not None and job.state in ACTIVE:
        job.set_lr_factor(st.session_state[key] / job.recipe.learning_rate)


def recipe_text(recipe: Recipe) -> str:
    """One sentence a person reads: "Adam 0.003, batch 256, 3 epochs; warm-up + cosine ..." """
    if recipe.budget_s:
        length = t("form.length_budget", seconds=recipe.budget_s)
    elif recipe.steps:
        length = t("form.length_steps" if recipe.steps != 1 else "form.length_step", n=recipe.steps)
    else:
        length = t(
            "form.length_epochs" if recipe.epochs != 1 else "form.length_epoch", n=recipe.epochs
        )
    extra = [
        t("form.extra_cosine") if recipe.schedule == "cosine" else None,
        t("form.extra_augment") if recipe.augment else None,
        t("form.extra_styles") if recipe.styles else None,
        t("form.extra_smoothing", e=recipe.label_smoothing) if recipe.label_smoothing else None,
        t("form.extra_early_stopping", n=recipe.early_stopping_patience)
        if recipe.early_stopping_patience
        else None,
        t("form.extra_split", split=recipe.validation_split)
        if recipe.validation == "split"
        else None,
        t("form.extra_average", n=recipe.average_steps) if recipe.average_steps else None,
    ]
    tail = t("form.extras", extras=", ".join(e for e in extra if e)) if any(extra) else ""
    return t(
        "form.recipe", lr=recipe.learning_rate, batch=recipe.batch_size, length=length, tail=tail
    )
