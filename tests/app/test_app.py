"""The page's logic under Streamlit's AppTest: the canvas is replaced by a drawing the test sets,
and training by a fast stand-in where speed matters."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import threading
import time
from html import unescape

import numpy as np
import pytest
from markdown_it import MarkdownIt
from PIL import Image
from streamlit.testing.v1 import AppTest

import mnist_demo.serving.jobs as jobs
import mnist_demo.training.engine as training
from harness import ROOT, without_record
from harness.drawings import draw
from harness.nondigits import nondigit_set
from mnist_demo.drawing.preprocess import preprocess
from mnist_demo.nets.models import build_model
from mnist_demo.training.result import TrainResult
from studio.state import mnist_or_error

MARKDOWN = MarkdownIt("commonmark")  # how the browser renders what the page sends


def app_script(root):
    import sys

    sys.path.insert(0, root)
    import streamlit as st

    import app

    app.main(canvas=lambda stroke: st.session_state.get("test_drawing"))


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """A private weights folder with the shipped models, so saves and damage stay in the test."""
    folder = tmp_path / "weights"
    folder.mkdir()
    for f in ("cnn.keras", "cnn.json", "mlp.keras", "mlp.json", "unlike.npz", "unlike.json"):
        shutil.copy(ROOT / "weights" / f, folder / f)
    monkeypatch.setenv("MNIST_STUDIO_WEIGHTS", str(folder))
    monkeypatch.setenv("MNIST_STUDIO_SAVES", str(tmp_path / "saved"))
    return folder


def new_page(drawing=None) -> AppTest:
    at = AppTest.from_function(app_script, args=(str(ROOT),), default_timeout=240)
    if drawing is not None:
        at.session_state["test_drawing"] = drawing
    return at.run()


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def rendered(body: str) -> str:
    """What a reader sees of a Markdown body: rendered by a reference parser, tags removed."""
    return unescape(re.sub(r"<[^>]+>", "", MARKDOWN.render(body))).strip()


def no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


class FakeTrain:
    """Stands in for training.train: emits events fast, honours stop, returns a real model."""

    def __init__(self, steps=40, delay=0.005, gate: threading.Event | None = None, accuracy=0.99):
        self.steps, self.delay, self.gate, self.accuracy = steps, delay, gate, accuracy

    def __call__(self, recipe, data, *, subscribers=(), stop=None, control=None, max_steps=None,
                 **_):  # fmt: skip
        stop = control.stop if control is not None else stop
        history = []

        def emit(e):
            history.append(e)
            for s in subscribers:
                s(e)

        emit({"kind": "start", "step": 0, "total_steps": self.steps, "wall": time.time()})
        step = 0
        while step < self.steps and not (stop and stop.is_set()):
            if self.gate is not None:
                self.gate.wait(0.05)
                if not self.gate.is_set():
                    continue
            step += 1
            time.sleep(self.delay)
            e = {
                "step": step,
                "total_steps": self.steps,
                "epoch": step / 10,
                "samples": step * 50,
                "elapsed": step * self.delay,
                "samples_per_s": 1000.0,
                "loss": 2.0 / step,
                "accuracy": 1 - 1 / (step + 1),
                "wall": time.time(),
            }
            emit({"kind": "step", **e})
            if step % 10 == 0:
                emit({"kind": "eval", **e, "test_accuracy": 0.9, "test_loss": 0.3})
        emit({"kind": "end", "step": step, "total_steps": self.steps, "test_accuracy": 0.9,
              "samples": step * 50, "elapsed": step * self.delay,
              "wall": time.time(), "stopped": step < self.steps})  # fmt: skip
        return TrainResult(
            model=build_model(recipe.model),
            recipe=recipe,
            precision="float32",
            steps=step,
            epochs=step / 10,
            seconds=step * self.delay,
            test_accuracy=self.accuracy,
            test_loss=0.3,
            stopped=step < self.steps,
            train_images=len(data.x_train),
            test_images=len(data.x_test),
            history=history,
        )


def wait_until(at, predicate, timeout=240):  # an upper bound: busy machines are slow
    end = time.time() + timeout
    while time.time() < end:
        at.run()
        if predicate(at):
            return at
        time.sleep(0.1)
    raise AssertionError("the page never reached the expected state")


# ------------------------------------------------------------------------------------------ draw


def test_empty_canvas_shows_a_hint_not_a_prediction(weights):
    at = new_page()
    no_exception(at)
    assert not at.metric
    assert any("Draw a digit" in i.value for i in at.info)


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4])  # MNIST test digits 7, 2, 1, 0, 4
def test_drawing_is_predicted_by_every_model(weights, mnist, index):
    label = int(mnist.y_test[index])
    drawing = draw(mnist.x_test[index], np.random.default_rng(index), rgba=True, height=200, pen=20)
    at = new_page(drawing)
    no_exception(at)
    assert metrics(at) == {"Prediction · CNN": str(label), "Prediction · MLP": str(label)}
    details = [h.proto.body for h in at.get("html") if "what it sees" in h.proto.body]
    assert len(details) == 2  # per model: where it comes from, ten bars, the 28x28 it sees
    for html in details:
        assert html.count("title=") == 10
        seen = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
        got = np.asarray(Image.open(io.BytesIO(base64.b64decode(seen))))
        want = np.round(preprocess(drawing) * 255)  # what the model was given
        assert got.shape == (28, 28) and np.abs(got - want).max() <= 1


def test_blank_drawing_is_a_hint(weights):
    at = new_page(np.zeros((280, 280, 4), np.uint8))
    no_exception(at)
    assert not at.metric
    assert any("nothing drawn" in i.value for i in at.info)


def test_corrupt_saved_model_is_listed_unavailable_and_others_work(weights, mnist):
    (weights / "broken.keras").write_bytes(b"PK\x03\x04 not really")
    without_record(weights / "cnn.keras", weights / "tampered.keras")  # a sidecar that lies:
    (weights / "tampered.json").write_text('{"model": "cnn", "sha256": "00"}')
    at = new_page(draw(mnist.x_test[0], np.random.default_rng(0), rgba=True))
    no_exception(at)
    assert metrics(at) == {"Prediction · CNN": "7", "Prediction · MLP": "7"}
    text = " ".join(rendered(w.value) for w in at.warning)
    assert "broken.keras" in text and "corrupt" in text
    assert "tampered.keras" in text and "sha256" in text


# ------------------------------------------------------------------------------------------ train


def use_fake(monkeypatch, fake):
    """The page's trainings run `fake` in a thread of this process (a child could not see it)."""
    monkeypatch.setattr(jobs, "ISOLATE", False)
    monkeypatch.setattr(training, "train", fake)
    return fake


@pytest.fixture
def fake_train(monkeypatch):
    return use_fake(monkeypatch, FakeTrain())


def test_train_shows_progress_then_the_model_predicts(weights, fake_train, mnist):
    at = new_page(draw(mnist.x_test[1], np.random.default_rng(1), rgba=True))
    at.radio(key="train_kind").set_value("mlp").run()
    at.button(key="train").click().run()
    no_exception(at)
    wait_until(at, lambda a: "trained" in a.session_state and a.session_state["trained"])
    no_exception(at)
    assert any("Done" in s.value for s in at.success)
    assert at.selectbox(key="choice_mlp").value == "this session"
    assert len(at.get("vega_lite_chart")) == 4  # loss and mistakes; and both again, compared
    # The untrained stand-in network still gives a digit: the page uses this session's model.
    assert "Prediction · MLP" in metrics(at)
    assert any("trained in this session" in h.proto.body for h in at.get("html"))


def test_stop_keeps_the_model_trained_so_far(weights, monkeypatch):
    use_fake(monkeypatch, FakeTrain(steps=100_000, delay=0.01))
    at = new_page()
    at.button(key="train").click().run()
    wait_until(at, lambda a: a.get("progress"))
    at.button(key="stop").click().run()
    wait_until(at, lambda a: a.session_state["trained"])
    assert any("Stopped" in s.value for s in at.success)


def test_save_makes_the_model_a_choice_for_everyone(weights, fake_train):
    saved = weights.parent / "saved"  # visitors' saves, apart from the shipped models
    at = new_page()
    at.button(key="train").click().run()
    wait_until(at, lambda a: a.session_state["trained"])
    at.text_input(key="save_name").input("../../my digits").run()
    at.button(key="save").click().run()
    no_exception(at)
    assert (saved / "my-digits.keras").exists() and (saved / "my-digits.json").exists()
    assert not (weights / "my-digits.keras").exists()
    meta = json.loads((saved / "my-digits.json").read_text())
    assert meta["model"] == "cnn" and meta["steps"] == fake_train.steps
    assert meta["train_images"] == 60_000 and meta["test_images"] == 10_000  # all of MNIST
    assert "MNIST Studio" in meta["command"]
    at.text_input(key="save_name").input("mlp").run()
    at.button(key="save").click().run()
    assert any("shipped model" in e.value for e in at.error)
    assert not (weights / "mlp.json").read_text().count("MNIST Studio")
    other = new_page()
    assert any("my-digits" in o for o in other.selectbox(key="choice_cnn").options)


def test_second_session_waits_for_the_running_training(weights, monkeypatch):
    gate = threading.Event()
    use_fake(monkeypatch, FakeTrain(steps=5, gate=gate))
    first = new_page()
    first.button(key="train").click().run()
    wait_until(
        first, lambda a: a.session_state["job"] and a.session_state["job"].state == "running"
    )
    second = new_page()
    assert any("Another training is running" in i.value for i in second.info)
    second.button(key="train").click().run()
    assert second.session_state["job"].state == "waiting"
    assert any("Another training is running" in i.value for i in second.info)
    second.button(key="stop").click().run()  # Cancel: leave the queue
    wait_until(second, lambda a: any("cancelled" in i.value for i in a.info))
    gate.set()
    wait_until(first, lambda a: a.session_state["trained"])
    no_exception(first)
    no_exception(second)


def test_no_mnist_says_how_to_fix_and_drawing_still_works(weights, monkeypatch, tmp_path, mnist):
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "absent.npz"))
    mnist_or_error.clear()
    at = new_page(draw(mnist.x_test[2], np.random.default_rng(2), rgba=True))
    no_exception(at)
    assert any("MNIST_DATA" in e.value for e in at.error)
    at.button(key="train").click().run()
    wait_until(at, lambda a: any("MNIST not found" in e.value for e in a.error))
    assert metrics(at)["Prediction · CNN"] == "1"
    mnist_or_error.clear()


def test_a_model_no_better_than_guessing_does_not_take_over(weights, monkeypatch, mnist):
    use_fake(monkeypatch, FakeTrain(accuracy=0.1135))  # what the CNN at learning rate 0.1 gave
    at = new_page(draw(mnist.x_test[0], np.random.default_rng(0), rgba=True))
    at.button(key="train").click().run()
    wait_until(at, lambda a: a.session_state["trained"])
    no_exception(at)
    assert not at.success and any("no better than guessing" in w.value for w in at.warning)
    assert at.selectbox(key="choice_cnn").value == "cnn"  # the shipped model still answers
    assert metrics(at)["Prediction · CNN"] == "7"
    assert any("Trained in this session" in o for o in at.selectbox(key="choice_cnn").options)


def test_a_drawing_unlike_any_digit_gets_a_note_and_still_its_answers(weights, mnist):
    star = nondigit_set(n_each=3, seed=0)["shapes"][2]
    at = new_page(star)
    no_exception(at)
    assert any("does not look like a digit" in w.value for w in at.warning)
    assert set(metrics(at)) == {"Prediction · CNN", "Prediction · MLP"}
    digit = draw(mnist.x_test[0], np.random.default_rng(0), rgba=True, height=200, pen=20)
    at = new_page(digit)
    assert metrics(at)["Prediction · CNN"] == "7"
    assert not any("does not look like a digit" in w.value for w in at.warning)


def test_inside_the_networks_shows_every_map_only_while_open(weights, mnist):
    drawing = draw(mnist.x_test[4], np.random.default_rng(4), rgba=True, height=200, pen=20)
    at = new_page(drawing)
    assert not [h for h in at.get("html") if "conv1 map" in h.proto.body]  # closed: not built
    at.session_state["inside_open"] = True
    at.run()
    no_exception(at)
    body = "".join(h.proto.body for h in at.get("html"))
    for layer, n in (("conv1", 32), ("pool1", 32), ("conv2", 64), ("pool2", 64)):
        alts = re.findall(rf'alt="{layer} map (\d+)"', body)
        assert sorted(map(int, alts)) == list(range(1, n + 1)), layer
    assert 'alt="heat map for digit 4"' in body and body.count('alt="conv1 filter ') == 32


def test_right_is_offered_only_when_the_networks_agree(weights, shipped_cnn, shipped_mlp):
    """A drawing the two networks read differently (found among drawn non-digits by the
    networks themselves) gets a question, not "Right: a N" for one of them."""
    from mnist_demo.nets.inference import predict_probs

    pictures = [p for kind in nondigit_set(n_each=10, seed=1).values() for p in kind]
    x = np.stack([np.round(preprocess(p) * 255).astype(np.uint8) for p in pictures])
    cnn, mlp = (predict_probs(m, x).argmax(1) for m in (shipped_cnn, shipped_mlp))
    split = next(i for i in range(len(x)) if cnn[i] != mlp[i])
    at = new_page(pictures[split])
    no_exception(at)
    assert not [b for b in at.button if b.label.startswith("Right: a")]
    asked = " ".join(c.value for c in at.caption)
    assert f"CNN reads {cnn[split]}, MLP reads {mlp[split]}: which is it?" in asked
    agree = next(i for i in range(len(x)) if cnn[i] == mlp[i])
    at = new_page(pictures[agree])
    assert [b for b in at.button if b.label == f"Right: a {cnn[agree]}"]
