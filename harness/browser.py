"""The real app under `streamlit run` on a free port, and how to launch Debian's Chromium for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from harness import ROOT

# The benchmarks measure what a person's browser does: Debian's Chromium. The tests drive its
# headless shell (Debian's chromium-headless-shell: the same Blink without the desktop browser
# around it), which took a fifth less CPU over the same browser tests on 2 cores, and those
# cores are what the suite waits for. $CHROMIUM overrides both.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
TEST_CHROMIUM = os.environ.get("CHROMIUM") or (
    HEADLESS_SHELL if os.path.exists(HEADLESS_SHELL) else CHROMIUM
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# For a server whose test presses no Train, or not for the warm process's sake: without it, the
# server spawns a training process at its first page (TensorFlow imported, both networks
# rehearsed: ~20 s of a core) that nothing uses.
NO_WARM_TRAINER = {"MNIST_STUDIO_WARM_TRAINER": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(
    weights: Path, env_extra: dict | None = None, launcher: list[str] | None = None
) -> tuple[subprocess.Popen, str, Path]:
    """Start `streamlit run app.py` with its models in `weights`; returns (process, URL, log)
    once the server answers its health check. The log is written beside `weights`. `launcher`
    replaces `python -m streamlit run` (harness/kill_server.py)."""
    port = free_port()
    log = weights.parent / f"streamlit-{port}.log"  # a restarted server: a log of its own
    env = {
        **os.environ,
        "MNIST_STUDIO_WEIGHTS": str(weights),
        "MNIST_STUDIO_SAVES": str(weights.parent / "saved"),  # visitors' saves stay beside
        "MNIST_STUDIO_WARM_TRAINER": "1",  # as a server runs by default
        **(env_extra or {}),
    }
    launcher = launcher or [sys.executable, "-m", "streamlit", "run"]
    command = [*launcher, "app.py", "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 240  # TensorFlow's import alone takes a minute on a busy machine
    while time.time() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return proc, url, log
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"streamlit did not start:\n{log.read_text()}")


def open_page(browser, url: str, width: int = 1400, height: int = 1000):
    """A new tab of `browser` at `url`, once its canvas is drawn (the page is usable)."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(url)
    page.locator("canvas.upper-canvas").first.wait_for(state="visible", timeout=240_000)
    return page
