"""Setups as links: a link fills the training form, the form keeps the link in step, and a value
the form cannot take falls back to the default with a one-line note."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from harness import ROOT
from tests.app.test_app import app_script, no_exception, weights

__all__ = ["weights"]  # a fixture, used by name
# The recipes' own settings, written out here as the reference (mnist_demo/training/recipes.py).
MLP_FAST = {"epochs": 5, "batch": 256, "lr": 0.002}
CNN_CLASS = {"seconds": 50, "batch": 64, "lr": 0.003}


def page(**link) -> AppTest:
    at = AppTest.from_function(app_script, args=(str(ROOT),), default_timeout=240)
    at.query_params.update(link)
    return at.run()


def form(at, kind: str, recipe: str) -> dict:
    """What the training form shows, by the link's names."""
    length = next(
        (name, w.value)
        for name, setting in (("seconds", "budget"), ("steps", "steps"), ("epochs", "epochs"))
        for w in at.number_input
        if w.key == f"{setting}_{kind}_{recipe}"
    )
    return {
        "net": at.radio(key="train_kind").value,
        "recipe": at.radio(key="train_recipe").value,
        length[0]: length[1],
        "batch": at.number_input(key=f"batch_{kind}_{recipe}").value,
        "lr": at.select_slider(key=f"lr_{kind}_{recipe}").value,
        "seed": at.number_input(key=f"seed_{kind}_{recipe}").value,
    }


def link_note(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("The link's")]


def test_a_setup_link_fills_the_form(weights):
    at = page(net="mlp", recipe="fast", epochs="2", batch="64", lr="0.01", seed="7")
    no_exception(at)
    want = {"net": "mlp", "recipe": "fast", "epochs": 2, "batch": 64, "lr": 0.01, "seed": 7}
    assert form(at, "mlp", "fast") == want
    assert not link_note(at)
    # The recipe the page describes (and Train would start) is the link's.
    assert any("batch 64" in c.value and "2 epochs" in c.value for c in at.caption), [
        c.value for c in at.caption
    ]


def test_changing_the_form_updates_the_link(weights):
    at = page()
    assert not at.query_params  # the defaults need no link
    at.radio(key="train_kind").set_value("mlp").run()
    at.radio(key="train_recipe").set_value("fast").run()
    assert at.query_params == {"net": "mlp", "recipe": "fast"}
    at.number_input(key="batch_mlp_fast").set_value(512).run()
    at.select_slider(key="lr_mlp_fast").set_value(0.003).run()
    at.number_input(key="seed_mlp_fast").set_value(11).run()
    want = {"net": "mlp", "recipe": "fast", "batch": "512", "lr": "0.003", "seed": "11"}
    assert at.query_params == want
    # Back to the recipe's own batch: the link leaves it out again.
    at.number_input(key="batch_mlp_fast").set_value(MLP_FAST["batch"]).run()
    assert "batch" not in at.query_params
    # The link it makes opens the same form in a new visit.
    again = page(**at.query_params)
    assert form(again, "mlp", "fast") == {
        "net": "mlp",
        "recipe": "fast",
        "epochs": MLP_FAST["epochs"],
        "batch": MLP_FAST["batch"],
        "lr": 0.003,
        "seed": 11,
    }


def test_a_bad_value_in_a_link_falls_back_with_a_note(weights):
    at = page(net="cnn", recipe="class", batch="lots", lr="0.5", seconds="9999")
    no_exception(at)
    assert form(at, "cnn", "class") == {"net": "cnn", "recipe": "class", **CNN_CLASS, "seed": None}
    (note,) = link_note(at)
    assert "batch=lots" in note and "lr=0.5" in note and "seconds=9999" in note
    assert "\n" not in note
    # An unknown network or recipe, or a length the recipe does not have: the defaults, a note.
    at = page(net="resnet", recipe="fast", steps="500")
    (note,) = link_note(at)
    assert "net=resnet" in note and "steps=500" in note
    assert form(at, "cnn", "fast")["net"] == "cnn" and "epochs" in form(at, "cnn", "fast")
    # The note stays until the form changes; the link has dropped what it could not use.
    assert "steps" not in at.query_params and "net" not in at.query_params
    at.run()
    assert link_note(at)
    at.number_input(key="epochs_cnn_fast").set_value(2).run()
    assert not link_note(at)
    assert at.query_params["epochs"] == "2"
