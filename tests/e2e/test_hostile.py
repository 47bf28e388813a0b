"""What a visitor sends or does that the page did not offer (a mangled canvas export, a Download
of a model deleted after the list was shown), and a server killed whole in the middle of a save.
Each gets a message or counts as nothing drawn; the server's own log (read here) holds one line
for it, never a traceback."""

from __future__ import annotations

import hashlib
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from playwright.sync_api import expect

from harness.browser import NO_WARM_TRAINER, ROOT, start_app
from harness.strokes import draw_digit
from mnist_demo.nets.models import build_model
from mnist_demo.storage.saving import save_model
from mnist_demo.storage.store import load_model
from tests.e2e.test_browser import (
    SLOW,
    UI,
    canvas_of,
    choose_recipe,
    clear,
    library_row,
    metric_value,
    no_traceback,
    set_number,
)

# Every message the page sends its server goes through here: while window.__mangle is set, the
# canvas' PNG data URL arrives as ";BASE64," (same length, so the protobuf around it stays valid),
# which no decoder accepts.
MANGLE = """() => {
  const send = WebSocket.prototype.send;
  const from = new TextEncoder().encode(";base64,"), to = new TextEncoder().encode(";BASE64,");
  WebSocket.prototype.send = function (data) {
    if (window.__mangle && (data instanceof ArrayBuffer || ArrayBuffer.isView(data))) {
      const bytes = new Uint8Array(data instanceof ArrayBuffer ? data.slice(0) : data.slice());
      for (let i = 0; i + from.length <= bytes.length; i++)
        if (from.every((b, j) => bytes[i + j] === b)) { bytes.set(to, i); window.__mangled++; }
      return send.call(this, bytes);
    }
    return send.call(this, data);
  };
  window.__mangled = 0;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the tests below: each leaves its weights folder as it found it."""
    weights = tmp_path_factory.mktemp("hostile") / "weights"
    shutil.copytree(ROOT / "weights", weights)
    proc, url, log = start_app(weights, NO_WARM_TRAINER)  # these tests train nothing
    yield url, weights, log
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_mangled_canvas_export_counts_as_nothing_drawn(browser, server):
    url, _, log = server
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.add_init_script(f"({MANGLE})()")
    page.goto(url)
    canvas = canvas_of(page)
    draw_digit(page, canvas, 1)  # first an honest stroke: the page answers
    expect(metric_value(page, "Prediction · CNN")).to_have_text("1", timeout=UI)
    clear(page)
    page.evaluate("window.__mangle = true")
    draw_digit(page, canvas, 7)
    refused_in(log)  # the server read the mangled stroke (auto reruns carry the URL too)
    assert page.evaluate("window.__mangled") > 0
    expect(page.get_by_text("Draw a digit on the black square")).to_be_visible(timeout=UI)
    expect(page.get_by_text(re.compile("Prediction · CNN"))).to_have_count(0)
    no_traceback(page)
    page.evaluate("window.__mangle = false")
    clear(page)
    draw_digit(page, canvas, 7)
    expect(metric_value(page, "Prediction · CNN")).to_have_text("7", timeout=UI)
    text = log.read_text()
    assert "Traceback" not in text, text
    page.context.close()


def refused_in(log, timeout_s: float = UI / 1000) -> None:
    """Waits for the server's one-line note of a refused canvas export in its log."""
    deadline = time.monotonic() + timeout_s
    while "canvas export refused" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def test_a_download_of_a_model_deleted_after_the_list_was_shown_says_it_is_gone(browser, server):
    url, weights, log = server
    for suffix in (".keras", ".json"):
        shutil.copy(weights / f"mlp{suffix}", weights / f"gone{suffix}")
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(url)
    canvas_of(page)
    page.get_by_text(re.compile(r"The \d+ models on this server")).click()
    button = page.locator(".st-key-download_gone").get_by_role("button", name="Download")
    expect(button).to_be_visible(timeout=SLOW)
    (weights / "gone.keras").unlink()  # another server sharing the folder deleted it
    (weights / "gone.json").unlink()
    said = page.get_by_text("gone was deleted after this list was shown")
    for attempt in range(3):  # a rerun landing meanwhile can swallow the click: pressed again
        button.click()
        try:
            expect(said).to_be_visible(timeout=UI // 3)
            break
        except AssertionError:
            if attempt == 2 or button.count() == 0:
                raise
    expect(page.locator(".st-key-download_gone")).to_have_count(0)  # the list is fresh
    no_traceback(page)
    text = log.read_text()
    assert "Traceback" not in text, text
    page.context.close()


def train_mlp_briefly(page) -> None:
    """The MLP, fast recipe, 1 epoch: a model in this session in a few seconds."""
    page.get_by_test_id("stRadio").filter(has_text="Network").get_by_text("MLP").click()
    choose_recipe(page, "fast (a fixed length)")
    set_number(page, "Epochs", "1", shows="batch 256, 1 epoch")
    done = page.get_by_text(re.compile(r"Done: MLP trained"))
    before = done.inner_text() if done.count() else None
    page.get_by_role("button", name="Train").click()
    expect(done).to_be_visible(timeout=SLOW)
    if before is not None:  # the last training's message: wait for this one's (its own seed)
        expect(done).not_to_have_text(before, timeout=SLOW)


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def replace_saved(page, name: str) -> None:
    """Name the session's new model as the one it saved before and tick Replace: typed again if
    a rerun of the panel swallowed the name."""
    field = page.get_by_label("Name")
    tick = page.get_by_text(f"Replace the model {name} saved earlier")
    for attempt in range(3):
        field.fill(name)
        field.press("Enter")  # the page reruns with it: a name of its own
        try:
            expect(tick).to_be_visible(timeout=UI // 3)
            break
        except AssertionError:
            if attempt == 2:
                raise
    tick.click()


OWNER_TOKEN = "5f0c6b1e-2d4a-4c83-9e57-0a1b2c3d4e5f"


def killed_mid_save(browser, url, proc, kill_at, step) -> bytes:
    """On the page at `url`: a model trained and saved over the one saved earlier as `step`, and
    the whole server killed at `step` of that save. Returns the earlier model's bytes."""
    old = (kill_at.parent / "saved" / f"{step}.keras").read_bytes()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # The browser that saved it earlier (studio/owner.py: its token, kept in local storage).
    context.add_init_script(f"localStorage.setItem('mnist-studio-owner', '{OWNER_TOKEN}')")
    page = context.new_page()
    page.goto(url)
    canvas_of(page)
    train_mlp_briefly(page)  # a second model, saved over the first
    replace_saved(page, step)
    kill_at.write_text(step)
    page.get_by_role("button", name="Save").click()
    proc.wait(UI / 1000)  # the whole server is gone, mid-save
    assert proc.returncode == -signal.SIGKILL
    page.context.close()
    kill_at.unlink()
    return old


def test_a_server_killed_whole_mid_save_restarts_with_a_usable_model_and_no_litter(
    browser, tmp_path
):
    """Killed before the rename, the old model stays byte for byte; after it, the new one is
    there whole. Either way the restarted server lists it, usable, and leaves no litter."""
    weights, saved = tmp_path / "weights", tmp_path / "saved"
    shutil.copytree(ROOT / "weights", weights)
    kill_at = tmp_path / "kill-at"
    owner = hashlib.sha256(OWNER_TOKEN.encode()).hexdigest()
    for step in ("archive", "rename"):  # saved earlier from this browser: untrained MLPs
        save_model(build_model("mlp"), step, {"model": "mlp", "owner": owner}, saved)
    launcher = [sys.executable, str(ROOT / "harness" / "kill_server.py")]
    env = {"KILL_AT": str(kill_at), **NO_WARM_TRAINER}  # its trainings start as cold as they may
    proc, url, log = start_app(weights, env, launcher)
    try:
        for step in ("archive", "rename"):  # the restart after the first is the second's server
            old = killed_mid_save(browser, url, proc, kill_at, step)
            proc, url, log = start_app(weights, env, launcher)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(url)
            canvas_of(page)
            expect(library_row(page, step)).to_contain_text("MLP", timeout=UI)  # usable
            assert [p.name for p in saved.iterdir() if p.name.startswith(".")] == []  # no litter
            model = load_model(saved / f"{step}.keras")  # the old one or the new one, whole
            assert model.predict(np.zeros((1, 28, 28, 1), np.float32), verbose=0).shape == (1, 10)
            now = (saved / f"{step}.keras").read_bytes()
            assert (now == old) == (step == "archive"), step  # before the rename: the old one
            no_traceback(page)
            page.context.close()
    finally:
        stop(proc)
    assert "Traceback" not in log.read_text()
