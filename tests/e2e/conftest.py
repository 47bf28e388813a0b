"""Real-browser fixtures: the real app under `streamlit run`, driven by Debian's Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from harness.browser import CHROMIUM_ARGS, ROOT, TEST_CHROMIUM, start_app

# Every expect waits up to this long for its state (Playwright's default is 5 s): a busy machine's
# reruns take seconds, not milliseconds.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def app_weights(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("e2e") / "weights"
    folder.mkdir()
    for f in ("cnn.keras", "cnn.json", "mlp.keras", "mlp.json", "unlike.npz", "unlike.json"):
        shutil.copy(ROOT / "weights" / f, folder / f)
    return folder


@pytest.fixture(scope="session")
def app_url(app_weights):
    proc, url, log = start_app(app_weights)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    text = log.read_text()
    assert "Traceback" not in text, text


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=TEST_CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(app_url)
    yield page
    context.close()
