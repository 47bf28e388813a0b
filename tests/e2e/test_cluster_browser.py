"""The app training on a Ray cluster (a local one the test starts), driven in Chromium."""

from __future__ import annotations

import re
import subprocess
import time

import pytest
from playwright.sync_api import expect

from harness.browser import start_app
from tests.e2e.test_browser import (
    SLOW,
    UI,
    canvas_of,
    clear,
    draw_digit,
    metric_value,
    no_traceback,
    start_long_mlp_training,
)

ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-cluster.txt")


def test_the_page_trains_the_mlp_on_ray_live_and_stops_it(browser, app_weights, local_ray):
    env = {"MNIST_STUDIO_RAY_ADDRESS": local_ray, "MNIST_STUDIO_CPUS_PER_TRAINING": "1"}
    proc, url, log = start_app(app_weights, env)
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(url)
        canvas = canvas_of(page)
        # A drawing is read first: its answer comes after the first page's run has ended, and
        # with it the server's warm-up (models, and the connection to the cluster).
        draw_digit(page, canvas, 4)
        expect(metric_value(page, "Prediction · CNN")).to_have_text("4", timeout=UI)
        clear(page)
        start_long_mlp_training(page)
        # The training is an actor of the test's cluster (it holds one of its two CPUs), not a
        # process of the app's.
        assert ray.available_resources().get("CPU", 0) == 1.0
        children = subprocess.run(["pgrep", "-f", "-P", str(proc.pid), "mnist_demo.serving.worker"],
                                  capture_output=True, text=True).stdout  # fmt: skip
        assert children == ""
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_text(re.compile(r"Stopped: MLP trained"))).to_be_visible(timeout=SLOW)
        deadline = time.monotonic() + 60  # the actor is let go: its CPU comes back
        while ray.available_resources().get("CPU", 0) < 2.0:
            assert time.monotonic() < deadline, ray.available_resources()
            time.sleep(0.2)
        expect(metric_value(page, "Prediction · CNN")).to_have_count(0)  # nothing drawn yet
        no_traceback(page)
        page.context.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert "Traceback" not in log.read_text()
