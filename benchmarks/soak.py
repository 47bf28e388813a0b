"""Soak test: many trainings in one server process, through the job path the page uses.

    python benchmarks/soak.py --trainings 30 --json          # through TrainingJob, in process
    python benchmarks/soak.py --page --trainings 30 --json   # Train and Stop in the real page

Trains the CNN and the MLP in turn (a few steps of the fast recipe each), stopping every other
one as a visitor pressing Stop would, and prints the process's resident memory and thread count
after each training, then how both grew between training 5 and the last. With --page, a browser
presses Train and Stop in the app under `streamlit run` and the server's own figures are read;
the summary then also compares the last with the first. Needs MNIST ($MNIST_DATA or the Keras
download), and Playwright with Chromium for --page.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mnist_demo.tfimport import import_tensorflow_quietly  # noqa: E402

SETTLE_S = (
    3.0  # after a training ends, before reading memory: what it allocated in passing is freed
)


def status(field: str, pid: int | str = "self") -> int:
    """A number from /proc/PID/status: VmRSS in kB, Threads (the OS's, TensorFlow's included)."""
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+)", text, re.M).group(1))


def one_training(i: int, data, slots, steps: int):
    from mnist_demo.serving.jobs import FINISHED, TrainingJob
    from mnist_demo.training.recipes import get_recipe

    kind = ("cnn", "mlp")[i % 2]
    recipe = get_recipe(kind, "fast").with_(steps=10 * steps, epochs=None)
    job = TrainingJob(recipe, lambda: data, slots, max_steps=steps).start()
    if i % 4 >= 2:  # every other training of each kind is stopped once it has made progress
        while job.state not in FINISHED and not [e for e in job.view().events if e["step"]]:
            time.sleep(0.05)
        job.stop()
    job.join()
    view = job.view()
    if view.result is None:
        raise SystemExit(f"training {i} ended {view.state}: {view.error}")
    return view


def jobs(args):
    """Yield (i, this process's pid) after each training through TrainingJob."""
    import_tensorflow_quietly()
    from mnist_demo.data import load_mnist
    from mnist_demo.serving.jobs import TrainingSlots

    data, slots = load_mnist(), TrainingSlots(1)
    for i in range(1, args.trainings + 1):
        one_training(i, data, slots, args.steps)
        gc.collect()
        yield i, "self"


def page_trainings(n: int):
    """Yield (i, server pid) after each Train and Stop in the real page (MLP, then CNN, ...)."""
    import re as regex
    import shutil
    import tempfile

    from playwright.sync_api import expect, sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS, start_app
    from mnist_demo.training.recipes import get_recipe

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        weights = Path(tmp) / "weights"
        shutil.copytree(ROOT / "weights", weights)
        proc, url, _ = start_app(weights)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(url)
        try:
            # The seed recipes train for long enough that Stop always finds them running.
            page.get_by_test_id("stRadio").filter(has_text="Recipe").get_by_text("seed").click()
            for i in range(1, n + 1):
                kind = ("mlp", "cnn")[i % 2 == 0]
                name = kind.upper()
                page.get_by_test_id("stRadio").filter(has_text="Network").get_by_text(name).click()
                expect(page.get_by_text(get_recipe(kind, "seed").describe())).to_be_visible()
                page.get_by_role("button", name="Train").click()
                progress = page.get_by_test_id("stProgress")
                expect(progress).to_contain_text("samples/s", timeout=60_000)
                page.get_by_role("button", name="Stop").click()
                done = regex.compile(rf"(Stopped|Done)\S*.*: {name} trained")
                expect(page.get_by_text(done)).to_be_visible(timeout=60_000)
                time.sleep(SETTLE_S)
                yield i, proc.pid
        finally:
            browser.close()
            proc.terminate()
            proc.wait(20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trainings", type=int, default=30)
    ap.add_argument("--steps", type=int, default=20, help="steps per training (default 20)")
    ap.add_argument("--json", action="store_true", help="JSON lines only")
    ap.add_argument("--page", action="store_true", help="Train and Stop in the real page")
    args = ap.parse_args()
    rows = []
    for i, pid in page_trainings(args.trainings) if args.page else jobs(args):
        row = {"i": i, "rss_mb": round(status("VmRSS", pid) / 1024, 1)}
        row["anon_mb"] = round(status("RssAnon", pid) / 1024, 1)  # the heap: what could leak
        row["threads"] = status("Threads", pid)
        rows.append(row)
        print(json.dumps(row) if args.json else f"training {i:>3}: {row}", flush=True)
    base, first, last = rows[min(4, len(rows) - 1)], rows[0], rows[-1]
    summary = {
        "rss_growth_pct": round(100 * (last["rss_mb"] - base["rss_mb"]) / base["rss_mb"], 2),
        "threads_growth": last["threads"] - base["threads"],
        "rss_vs_first_pct": round(100 * (last["rss_mb"] - first["rss_mb"]) / first["rss_mb"], 2),
    }
    print(json.dumps(summary) if args.json else f"from training 5 to {len(rows)}: {summary}")


if __name__ == "__main__":
    main()
