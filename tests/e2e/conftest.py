"""Real-browser fixtures: the real app under `streamlit run`, driven by Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(weights: Path, env_extra: dict | None = None) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = weights.parent / f"streamlit-{port}.log"
    env = {**os.environ, "MNIST_STUDIO_WEIGHTS": str(weights), **(env_extra or {})}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return proc, url, log
        except OSError:
            time.sleep(0.05)
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"streamlit did not start:\n{log.read_text()}")


@pytest.fixture(scope="session")
def app_weights(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("e2e") / "weights"
    folder.mkdir()
    for f in ("cnn.keras", "cnn.json", "mlp.keras", "mlp.json"):
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
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(app_url)
    yield page
    context.close()
