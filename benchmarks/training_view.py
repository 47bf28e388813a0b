"""What steering a training costs: evaluation overhead, pause and resume, and Stop in the browser.

    python benchmarks/training_view.py                  # all three; prints a table and JSON
    python benchmarks/training_view.py --only engine    # evaluation overhead, pause and resume
    python benchmarks/training_view.py --only stop      # Stop, pressed in Chromium, 10 times

- Evaluation overhead: the fast recipes in full, in this process; time spent evaluating the
  held-out subset (and reading the live panel) as a share of the training time.
- Pause and resume: the MLP's fast recipe paused five times for a second; how long from pause()
  to the training holding, from resume() to it going on, and the training time against an
  unpaused run of the same recipe.
- Stop: the MLP training in the real page; from the click on Stop to "Stopping..." on screen and
  to the end of the run on screen (the "Stopped: ..." message), browser clock; 10 presses with
  the page alone, 10 while a second page draws a digit every second.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def engine() -> dict:
    from mnist_demo.tfimport import import_tensorflow_quietly

    import_tensorflow_quietly()
    from mnist_demo.data import load_mnist
    from mnist_demo.training.control import Control
    from mnist_demo.training.engine import train
    from mnist_demo.training.recipes import get_recipe

    data, out = load_mnist(), {}
    for kind in ("mlp", "cnn"):
        events = []
        train(get_recipe(kind, "fast"), data, subscribers=[events.append])
        end = events[-1]
        evals = sum(e["kind"] == "eval" for e in events)
        out[f"eval_overhead_{kind}_pct"] = round(100 * end["eval_seconds"] / end["elapsed"], 2)
        out[f"evals_{kind}"] = evals
        print(f"{kind} fast: {evals} evaluations, {end['eval_seconds']:.2f} s of "
              f"{end['elapsed']:.1f} s training ({out[f'eval_overhead_{kind}_pct']}%)", flush=True)  # fmt: skip
    recipe = get_recipe("mlp", "fast")
    plain = []
    train(recipe, data, subscribers=[plain.append])
    control, seen, marks = Control(), [], {}

    def watch(e):
        seen.append(e)
        now = time.perf_counter()
        if e["kind"] == "pause":
            marks.setdefault("held", []).append(now - marks["asked"])
        if e["kind"] == "resume":  # the training goes on from here, at its next step
            marks.setdefault("going", []).append(now - marks.pop("resumed"))
        pauses = sum(s["kind"] == "pause" for s in seen)
        if (
            e["kind"] == "step"
            and e["step"] >= (pauses + 1) * 180
            and pauses < 5
            and not control.paused
        ):
            marks["asked"] = time.perf_counter()
            control.pause()
            threading.Timer(1.0, resume).start()

    def resume():
        marks["resumed"] = time.perf_counter()
        control.resume()

    train(recipe, data, subscribers=[watch], control=control)
    out["pause_to_held_ms"] = round(1000 * statistics.median(marks["held"]), 1)
    out["resume_to_going_on_ms"] = round(1000 * statistics.median(marks["going"]), 1)
    out["paused_vs_plain_training_time"] = round(seen[-1]["elapsed"] / plain[-1]["elapsed"], 3)
    print(f"pause -> held {out['pause_to_held_ms']} ms, resume -> going on "
          f"{out['resume_to_going_on_ms']} ms (median of {len(marks['going'])}); training time "
          f"with 5 pauses / without: {out['paused_vs_plain_training_time']}", flush=True)  # fmt: skip
    return out


WATCH_STOP = """() => { window.__stop = {}; const t0 = performance.now();
  const obs = new MutationObserver(() => {
    const s = window.__stop;
    if (s.shown === undefined && [...document.querySelectorAll('button')]
        .some(b => b.innerText.trim() === 'Stopping...')) s.shown = performance.now() - t0;
    if (s.ended === undefined && document.body.innerText.includes('Stopped: MLP trained')) {
      s.ended = performance.now() - t0; obs.disconnect(); }
  });
  obs.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def stop(repeats: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS, open_page, start_app

    expect.set_options(timeout=240_000)
    tmp = tempfile.TemporaryDirectory()
    weights = Path(tmp.name) / "weights"
    shutil.copytree(ROOT / "weights", weights)
    proc, url, _ = start_app(weights)
    out = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = open_page(browser, url)
            page.get_by_test_id("stRadio").filter(has_text="Network").get_by_text("MLP").click()
            field = page.get_by_role("spinbutton", name="Epochs")
            for _ in range(5):  # a rerun of the panel can swallow the first try
                field.fill("20")
                field.press("Enter")
                try:
                    expect(page.get_by_text("batch 256, 20 epochs")).to_be_visible(timeout=10_000)
                    break
                except AssertionError:
                    continue
            for label, drawer in (("alone", None), ("beside a page drawing", url)):
                child = _drawer(url) if drawer else None
                try:
                    shown, ended = _stops(page, repeats, expect)
                finally:
                    if child:
                        child.terminate()
                        child.wait(30)
                out[label] = {"stopping_shown_ms": _stats(shown), "run_ended_ms": _stats(ended)}
                print(f"Stop, {label}: 'Stopping...' {out[label]['stopping_shown_ms']}, "
                      f"run ended {out[label]['run_ended_ms']}", flush=True)  # fmt: skip
            browser.close()
    finally:
        proc.terminate()
        proc.wait(30)
        tmp.cleanup()
    return out


def _stops(page, repeats, expect):
    shown, ended = [], []
    progress = page.get_by_test_id("stProgress")
    for _ in range(repeats):
        page.get_by_role("button", name="Train").click()
        expect(progress).to_contain_text("samples/s")
        page.wait_for_timeout(1000)  # a second of training before the press
        page.evaluate(WATCH_STOP)
        page.get_by_role("button", name="Stop").click()
        page.wait_for_function("() => window.__stop.ended !== undefined", timeout=240_000)
        result = page.evaluate("window.__stop")
        shown.append(result.get("shown", float("nan")))
        ended.append(result["ended"])
    return shown, ended


def _stats(values):
    return {"median": round(statistics.median(values), 1), "worst": round(max(values), 1),
            "n": len(values)}  # fmt: skip


def _drawer(url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--draw", url], cwd=ROOT)


def draw_forever(url: str) -> None:
    """A second visitor: draws a digit every second and clears it, until killed."""
    from playwright.sync_api import sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS
    from harness.strokes import draw_digit

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(url)
        canvas = page.locator("canvas.upper-canvas").first
        canvas.wait_for(state="visible", timeout=240_000)
        digit = 0
        while True:
            draw_digit(page, canvas, (7, 1, 0, 4, 2)[digit % 5])
            page.wait_for_timeout(500)
            page.get_by_role("button", name="Reset canvas & history").click()
            page.wait_for_timeout(500)
            digit += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["engine", "stop"])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--draw", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.draw:
        draw_forever(args.draw)
        return
    results = {}
    if args.only in (None, "engine"):
        results["engine"] = engine()
    if args.only in (None, "stop"):
        results["stop"] = stop(args.repeats)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
