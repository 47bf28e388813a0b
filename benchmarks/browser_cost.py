"""What watching a training costs the browser: Chromium's main-thread time per second of wall
clock (Chrome DevTools' Performance.getMetrics TaskDuration), idle and while an MLP trains, in
the normal page and in the class view.

    python benchmarks/browser_cost.py [--seconds 10] [--json]

Target: <= 0.3 s of main-thread time per second while a training is watched. The browser runs on
the same cores as the server and its training, as on a teacher's laptop that serves the class.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from harness.browser import CHROMIUM, CHROMIUM_ARGS, start_app  # noqa: E402

TARGET = 0.3


def task_seconds(cdp) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def main_thread_share(page, cdp, seconds: float) -> float:
    """Main-thread seconds per wall-clock second over `seconds`."""
    t0, busy0 = time.monotonic(), task_seconds(cdp)
    page.wait_for_timeout(seconds * 1000)
    return (task_seconds(cdp) - busy0) / (time.monotonic() - t0)


def measure(browser, url: str, view: str, seconds: float) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url + ("/?view=class" if view == "class" else ""))
    expect(page.locator("canvas.upper-canvas").first).to_be_visible(timeout=240_000)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.wait_for_timeout(3000)  # the first paint's work done
    idle = main_thread_share(page, cdp, seconds)
    if view == "class":
        page.get_by_text("Settings: network, recipe").click()
    page.get_by_test_id("stRadio").filter(has_text="Network").get_by_text("MLP").click()
    page.get_by_test_id("stRadio").filter(has_text="Recipe").get_by_text("fast").click()
    epochs = page.get_by_label("Epochs")
    epochs.fill("40")
    epochs.press("Enter")
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("samples/s", timeout=240_000)
    page.wait_for_timeout(2000)  # its curves drawn once
    watching = main_thread_share(page, cdp, seconds)
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Stopped: MLP trained")).to_be_visible(timeout=240_000)
    page.close()
    return {"view": view, "idle s/s": round(idle, 3), "watching a training s/s": round(watching, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="browser-cost-"))
    weights = folder / "weights"
    shutil.copytree(ROOT / "weights", weights)
    proc, url, _log = start_app(weights)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            rows = [measure(browser, url, view, args.seconds) for view in ("page", "class")]
            browser.close()
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        ok = "met" if row["watching a training s/s"] <= TARGET else "NOT met"
        print(
            f"{row['view']:>5}: main thread {row['idle s/s']:.3f} s/s idle, "
            f"{row['watching a training s/s']:.3f} s/s watching an MLP train "
            f"(target <= {TARGET}: {ok})"
        )


if __name__ == "__main__":
    main()
