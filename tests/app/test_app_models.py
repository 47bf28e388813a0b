"""The page's saved models under AppTest: who may replace or delete what, the limits, and files
that are not what they seem (each listed with its reason while the page keeps working)."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np

from harness import ROOT, without_record
from harness.drawings import draw
from mnist_demo.errors import ModelFileError
from mnist_demo.nets.models import build_model
from mnist_demo.training import estimate
from mnist_demo.training.recipes import RECIPES
from studio import state
from tests.app.test_app import (
    MARKDOWN,
    fake_train,
    metrics,
    new_page,
    no_exception,
    rendered,
    wait_until,
    weights,
)

__all__ = ["fake_train", "weights"]  # fixtures, used by name


def said(at) -> str:
    """Every message the page shows, as read."""
    return " | ".join(rendered(e.value) for kind in ("error", "warning", "success", "info")
                      for e in getattr(at, kind))  # fmt: skip


def trained_page():
    at = new_page()
    at.button(key="train").click().run()
    return wait_until(at, lambda a: a.session_state["trained"])


def save_as(at, name, replace=None):
    at.text_input(key="save_name").input(name).run()
    if replace is not None:
        at.checkbox(key="save_replace").check().run() if replace else None
    at.button(key="save").click().run()
    no_exception(at)
    return at


def test_a_second_session_cannot_replace_anothers_model_and_deletes_only_its_own(
    weights, fake_train, tmp_path
):
    saved = tmp_path / "saved"
    first = save_as(trained_page(), "shared")
    assert "Saved as shared.keras" in said(first)
    original = (saved / "shared.keras").read_bytes()

    second = save_as(trained_page(), "shared")
    assert "belongs to another visitor" in said(second) and "shared-2" in said(second)
    assert (saved / "shared.keras").read_bytes() == original
    assert not second.checkbox  # nothing to tick: it is not theirs to replace
    second.button(key="save_suggested_button").click().run()
    assert "Saved as shared-2.keras" in said(second) and (saved / "shared-2.keras").exists()
    assert not [b for b in second.button if b.key == "delete_shared"]

    save_as(first, "shared")  # its own: replacing is confirmed first
    assert "tick" in said(first) and (saved / "shared.keras").read_bytes() == original
    save_as(first, "shared", replace=True)
    assert "Saved as shared.keras" in said(first)
    assert json.loads((saved / "shared.json").read_text())["model"] == "cnn"

    assert not [b for b in first.button if b.key == "delete_shared-2"]  # the other's
    first.button(key="delete_shared").click().run()  # Delete asks first
    assert "Delete shared for every visitor?" in said(first) and (saved / "shared.keras").exists()
    first.button(key="delete_no").click().run()  # kept
    assert (saved / "shared.keras").exists() and not [
        b for b in first.button if b.key == "delete_yes"
    ]
    first.button(key="delete_shared").click().run()
    first.button(key="delete_yes").click().run()
    assert "Deleted shared" in said(first) and not (saved / "shared.keras").exists()
    assert (saved / "shared-2.keras").exists() and not (weights / "shared.keras").exists()

    save_as(first, "mlp")  # a shipped model's name
    assert "shipped model" in said(first)
    save_as(first, "CNN")  # in any case: one file on a folder that ignores case
    assert "'CNN' is the name of a shipped model" in said(first)
    save_as(first, "nul")
    assert "Windows keeps for a device" in said(first)
    assert "Saved as ünïcødé-名前.keras" in said(save_as(first, "ünïcødé 名前"))
    assert "MNIST Studio" not in (weights / "mlp.json").read_text()


def test_the_default_name_is_one_nobody_else_has(weights, fake_train):
    a, b = trained_page(), trained_page()
    names = a.text_input(key="save_name").value, b.text_input(key="save_name").value
    assert names[0] != names[1] and all(n.startswith("my-cnn-") for n in names)


def test_one_click_saves_once_and_a_later_press_saves_a_copy(weights, fake_train, monkeypatch):
    """Save dispatched twice for one click (a double click, or a press run twice) saves once;
    pressed again later, it saves the copy it offers under a fresh name."""
    from studio import save

    monkeypatch.setattr(save, "DOUBLE_PRESS_S", 3600.0)  # however slow this machine's reruns
    at = save_as(trained_page(), "once")
    at.button(key="save").click().run()
    saved = weights.parent / "saved"
    assert [p.name for p in saved.glob("*.keras")] == ["once.keras"]
    assert "Saved as once.keras" in said(at) and "exists" not in said(at)
    monkeypatch.setattr(save, "DOUBLE_PRESS_S", 0.0)
    at.button(key="save").click().run()
    copies = [p.name for p in saved.glob("my-cnn-*.keras")]
    assert len(copies) == 1 and f"Saved as {copies[0]}" in said(at)


def test_the_servers_limits_refuse_a_save_with_a_clear_message(weights, fake_train, monkeypatch):
    monkeypatch.setattr(state, "MAX_SAVED", 1)
    at = save_as(trained_page(), "one")
    assert "Saved as one.keras" in said(at)
    save_as(at, "two")
    assert "at most 1 saved models" in said(at)
    monkeypatch.setattr(state, "MAX_SAVED", 50)
    monkeypatch.setattr(state, "MAX_SAVED_MB", 5)  # one CNN is 13 MB
    save_as(at, "three")
    assert "of this server's 5 MB" in said(at)
    assert sorted(p.name for p in (weights.parent / "saved").glob("*.keras")) == ["one.keras"]


def page_of(owner: str):
    """A trained page in a browser whose owner token hashes to `owner` (kept over reloads)."""
    at = new_page()
    at.session_state["owner_id"] = owner
    at.run().button(key="train").click().run()
    return wait_until(at, lambda a: a.session_state["trained"])


def test_a_visitor_past_their_share_is_refused_while_another_still_saves(
    weights, fake_train, monkeypatch
):
    monkeypatch.setattr(state, "MAX_SAVED", 8)
    monkeypatch.setattr(state, "MAX_PER_VISITOR", 2)
    saved = weights.parent / "saved"
    b = page_of("b" * 64)
    for name in ("b-one", "b-two"):
        assert f"Saved as {name}.keras" in said(save_as(b, name))
    save_as(b, "b-three")
    assert "you have saved 2 models, each visitor's share" in said(b)
    assert not (saved / "b-three.keras").exists()

    again = page_of("b" * 64)  # the same browser, reloaded: still its share, still its own
    save_as(again, "b-four")
    assert "each visitor's share" in said(again) and not (saved / "b-four.keras").exists()
    again.button(key="delete_b-one").click().run()
    again.button(key="delete_yes").click().run()
    assert "Deleted b-one" in said(again)
    assert "Saved as b-four.keras" in said(save_as(again, "b-four"))

    a = page_of("a" * 64)  # another visitor saves while B is at their share
    assert "Saved as a-one.keras" in said(save_as(a, "a-one"))
    assert sorted(p.stem for p in saved.glob("*.keras")) == ["a-one", "b-four", "b-two"]

    monkeypatch.setattr(state, "MAX_MB_PER_VISITOR", 20)  # one CNN is 13 MB
    save_as(a, "a-two")
    assert "of your 20 MB share" in said(a) and not (saved / "a-two.keras").exists()


def test_files_that_are_not_what_they_seem_are_listed_with_reasons_and_the_page_works(
    weights, mnist, tmp_path
):
    without_record(weights / "mlp.keras", weights / "odd.keras")  # its sidecar is read
    meta = json.loads((weights / "mlp.json").read_text())
    (weights / "odd.json").write_text(json.dumps({**meta, "test_accuracy": "high"}))
    config = zipfile.ZipFile(weights / "mlp.keras").read("config.json")
    with zipfile.ZipFile(weights / "bomb.keras", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", config)
        z.writestr("model.weights.h5", bytes(300 << 20))
    build_model("mlp").save(weights / "plain.keras")  # no record at all
    inputs = keras.Input((28, 28, 1))
    lam = keras.layers.Lambda(lambda x: x * 2)(inputs)
    keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(lam))).save(
        weights / "lam.keras"
    )
    (weights / "[a](http:x).keras").write_bytes(b"PK\x03\x04 not a model")

    at = new_page(draw(mnist.x_test[0], np.random.default_rng(0), rgba=True))
    no_exception(at)
    assert metrics(at) == {"Prediction · CNN": "7", "Prediction · MLP": "7"}
    # A prediction's tooltip says how good its model is and how it was trained.
    record = json.loads((weights / "cnn.json").read_text())
    [cnn] = [m for m in at.metric if m.label == "Prediction · CNN"]
    tip = rendered(cnn.proto.help)
    assert f"test accuracy {record['test_accuracy']:.2%}" in tip and "fast recipe" in tip
    said = [rendered(w.value) for w in at.warning]
    warnings = {name: next(w for w in said if w.startswith(name)) for name in
                ("odd.keras", "bomb.keras", "lam.keras", "[a](http:x).keras")}  # fmt: skip
    assert "test_accuracy is not valid" in warnings["odd.keras"]
    assert "inflate" in warnings["bomb.keras"] or "zip bomb" in warnings["bomb.keras"]
    assert "Lambda layer" in warnings["lam.keras"]
    assert "corrupt" in warnings["[a](http:x).keras"]  # the name, as written: not a link
    assert not any("<a" in MARKDOWN.render(w.value) for w in at.warning)
    assert "plain (accuracy unknown" in " ".join(at.selectbox(key="choice_mlp").options)
    bodies = [str(e.proto) for e in at.main] + [str(e.proto) for e in at.sidebar]
    assert not [b for b in bodies if str(tmp_path) in b or str(ROOT) in b]


def test_a_model_that_fails_to_load_costs_once_not_on_every_stroke(weights, mnist, monkeypatch):
    build_model("mlp").save(weights / "plain.keras")  # passes every check before loading
    calls, real_load = [], state.load_model

    def failing_load(path, *a, **k):
        calls.append(path)
        if not str(path).endswith("plain.keras"):
            return real_load(path, *a, **k)
        raise ModelFileError("plain.keras cannot be loaded: a test says so")

    monkeypatch.setattr(state, "load_model", failing_load)
    at = new_page(draw(mnist.x_test[0], np.random.default_rng(0), rgba=True))
    at.selectbox(key="choice_mlp").set_value("plain").run()
    for seed in (1, 2, 3):  # three more strokes
        at.session_state["test_drawing"] = draw(
            mnist.x_test[0], np.random.default_rng(seed), rgba=True
        )
        at.run()
    no_exception(at)
    assert "plain.keras cannot be loaded" in said(at)
    assert metrics(at) == {"Prediction · CNN": "7"}, said(at)
    assert [c for c in calls if str(c).endswith("plain.keras")] == [str(weights / "plain.keras")]


def test_on_an_admins_server_a_visitor_may_replace_anothers_model(
    weights, fake_train, tmp_path, monkeypatch
):
    save_as(trained_page(), "shared")
    monkeypatch.setattr(state, "ADMIN", True)
    other = save_as(trained_page(), "shared", replace=True)
    assert "Saved as shared.keras" in said(other)
    assert [b for b in other.button if b.key == "delete_shared"]


def test_runs_are_kept_compared_and_a_saved_model_keeps_its_curves(weights, fake_train):
    at = trained_page()
    at.button(key="train").click().run()
    wait_until(at, lambda a: len(a.session_state["runs"]) == 2)
    no_exception(at)
    names = [r["name"] for r in at.session_state["runs"]]
    assert names[0].startswith("run 1: CNN class, seed ") and names[1].startswith("run 2: CNN")
    compare = at.multiselect(key="compared")
    assert compare.value == names  # this session's runs are compared by default
    compare.set_value(names).run()
    no_exception(at)
    assert len(at.get("vega_lite_chart")) == 4  # the last run's two charts, two overlays
    save_as(at, "with-curves")
    record = json.loads((weights.parent / "saved" / "with-curves.json").read_text())
    assert [c["step"] for c in record["curves"] if c["kind"] == "step"] == list(
        range(1, fake_train.steps + 1)
    )
    other = new_page()
    offered = other.multiselect(key="compared")
    assert any("saved: with-curves" in o for o in offered.options)
    assert offered.value == []  # a saved model is offered, not chosen: no run of this session


def test_the_time_a_training_will_take_is_estimated_from_the_last_one(
    weights, fake_train, monkeypatch
):
    state.speeds.clear()  # shared by the server's sessions: earlier tests trained too
    at = new_page()
    # The class recipe trains for its budget: start-up and the final test are first guesses.
    guess = estimate.FIRST_GUESS["cnn"]
    total = guess.start_s + RECIPES[("cnn", "class")].budget_s + guess.final_s
    assert any(c.value.startswith(f"About {total:.0f} s here") for c in at.caption)
    at.radio(key="train_recipe").set_value("fast").run()
    assert any("No estimate yet" in c.value for c in at.caption)
    monkeypatch.setattr(estimate, "MIN_REFERENCE_S", 0.0)  # the stand-in trains for 0.2 s
    at.button(key="train").click().run()
    wait_until(at, lambda a: a.session_state["trained"])
    events = at.session_state["last_events"]
    # The fast CNN recipe is 3 epochs of 234 batches of 256, at the speed the stand-in showed.
    start = next(e for e in events if e["kind"] == "start")
    last = [e for e in events if e["kind"] in ("step", "eval")][-1]
    train_s = 3 * 234 * 256 * (last["wall"] - start["wall"]) / last["samples"]
    [said] = [c.value for c in at.caption if c.value.startswith("About")]
    assert f"{train_s:.0f} s of training" in said


def test_a_model_another_server_saves_is_listed_at_the_next_rerun(weights, tmp_path):
    """Servers behind one load balancer share the visitors' folder: a save by one (here, the
    library writing into that folder) shows in another's page without a restart."""
    from mnist_demo.storage.saving import save_model

    at = new_page()
    assert "elsewhere" not in " ".join(at.selectbox(key="choice_mlp").options)
    model = build_model("mlp")
    save_model(model, "elsewhere", {"model": "mlp", "test_accuracy": 0.9}, tmp_path / "saved")
    at.run()
    no_exception(at)
    assert any("elsewhere" in o for o in at.selectbox(key="choice_mlp").options)
