"""What looking inside costs, and how well "does not look like a digit" works.

    python benchmarks/inside.py                 # everything (about 4 minutes on 2 cores)
    python benchmarks/inside.py --only engine   # the library's timings and the detector's rates
    python benchmarks/inside.py --only browser  # stroke -> feature maps, in Chromium

- engine: one drawing through every layer and integrated gradients (median of 20); the test
  report of each shipped network on the 10,000 test digits (median of 3); the detector's rates on
  the sets the tests build (MNIST's test digits, pen drawings of 1,000 of them, 150 drawn
  non-digits).
- browser: 10 digits drawn with the mouse, from the final mouse-up to the Prediction metrics, with
  "Inside the networks" closed and then open, and to the feature maps and heat map of the new
  drawing on screen (browser clock).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DIGITS = [7, 1, 0, 4, 2, 3, 7, 1, 0, 4]  # the digits harness/strokes.py draws


def _median_ms(fn, repeats: int) -> float:
    fn()  # traced and warm
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def engine() -> dict:
    from harness.drawings import drawing_set
    from harness.nondigits import nondigit_set
    from mnist_demo.data import load_mnist
    from mnist_demo.drawing.preprocess import preprocess
    from mnist_demo.drawing.unlike import shipped_detector
    from mnist_demo.nets.inference import Predictor
    from mnist_demo.nets.inside import Inside
    from mnist_demo.nets.report import test_report
    from mnist_demo.storage.store import load_model

    data = load_mnist()
    out = {}
    x = data.x_test[0].astype(np.float32) / 255.0
    for kind in ("cnn", "mlp"):
        out[kind] = _timings(load_model(kind), data, x, Inside, Predictor, test_report)
        print(kind, out[kind], flush=True)
    detector = shipped_detector()
    out["detector_ms_per_drawing"] = _median_ms(lambda: detector.unlike(x), 20)
    ims, _ = drawing_set(data.x_test[2000:3000], data.y_test[2000:3000], 1000, seed=5)
    drawn = nondigit_set(n_each=50, seed=2026)
    out["unlike_flagged"] = {
        "mnist_test": float(detector.flags(data.x_test / 255.0).mean()),
        "pen_drawings_of_mnist_test": float(detector.flags(np.stack([preprocess(i) for i in ims]))
                                            .mean()),
        **{k: float(detector.flags(np.stack([preprocess(i) for i in v])).mean())
           for k, v in drawn.items()},
    }  # fmt: skip
    print("detector", out["detector_ms_per_drawing"], "ms;", out["unlike_flagged"], flush=True)
    return out


def _timings(model, data, x, Inside, Predictor, test_report) -> dict:
    inside, predictor = Inside(model), Predictor(model)
    return {
        "prediction_ms (baseline)": _median_ms(lambda: predictor.probabilities(x), 20),
        "every_layer_ms": _median_ms(lambda: inside.activations(x), 20),
        "integrated_gradients_ms": _median_ms(lambda: inside.attributions(x, 7), 20),
        "test_report_s": round(statistics.median(
            test_report(model, data.x_test, data.y_test).seconds for _ in range(3)), 2),
    }  # fmt: skip


WATCH = """([digit, maps]) => { window.__lat = new Promise(resolve => {
  const want = String(digit);
  const shown = () => {
    const vals = [...document.querySelectorAll('[data-testid=stMetric]')]
      .filter(m => m.innerText.includes('Prediction'))
      .map(m => m.querySelector('[data-testid=stMetricValue]').innerText.trim());
    return vals.length >= 2 && vals.every(v => v === want);
  };
  const mapped = () => document.querySelector('[alt="conv2 map 64"]') &&
    document.querySelector('img[alt="heat map for digit ' + want + '"]');
  const r = {}; window.__t_up = null;
  const look = () => {
    if (window.__t_up === null) return;
    const now = performance.now() - window.__t_up;
    if (r.metrics === undefined && shown()) r.metrics = now;
    if (maps && r.maps === undefined && mapped()) r.maps = now;
    if (r.metrics !== undefined && (!maps || r.maps !== undefined)) { obs.disconnect(); resolve(r); }
  };
  const obs = new MutationObserver(look);
  obs.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
  window.__look = look;
  setTimeout(() => resolve(r), 20000);
}); }"""


def _stroke(page, canvas, digit: int, maps: bool) -> dict:
    from harness.strokes import draw_digit_timed

    page.evaluate(WATCH, [digit, maps])
    draw_digit_timed(page, canvas, digit)
    page.evaluate("() => window.__look && window.__look()")
    return page.evaluate("() => window.__lat")


def browser() -> dict:
    from playwright.sync_api import sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS, start_app

    tmp = tempfile.TemporaryDirectory()
    weights = Path(tmp.name) / "weights"
    shutil.copytree(ROOT / "weights", weights)
    proc, url, _ = start_app(weights)
    results = {"closed": [], "open": []}
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = b.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(url)
            canvas = page.locator("canvas.upper-canvas").first
            canvas.wait_for(state="visible", timeout=240_000)
            _stroke(page, canvas, 1, False)  # TensorFlow loaded, the models compiled
            _clear(page)
            for state in ("closed", "open"):
                if state == "open":
                    page.get_by_text("Inside the networks").click()
                    _stroke(page, canvas, 1, True)  # the inside views traced once
                    _clear(page)
                for digit in DIGITS:
                    results[state].append(_stroke(page, canvas, digit, state == "open"))
                    _clear(page)
            b.close()
    finally:
        proc.terminate()
        proc.wait(30)
        tmp.cleanup()
    return _browser_figures(results)


def _browser_figures(results: dict) -> dict:
    def stats(values):
        values = [v for v in values if v is not None]
        return {"median": round(statistics.median(values), 1), "worst": round(max(values), 1),
                "n": len(values)}  # fmt: skip

    closed = [r.get("metrics") for r in results["closed"]]
    opened = [r.get("metrics") for r in results["open"]]
    maps = [r.get("maps") for r in results["open"]]
    out = {"stroke_to_metrics_inside_closed_ms": stats(closed),
           "stroke_to_metrics_inside_open_ms": stats(opened),
           "stroke_to_feature_maps_ms": stats(maps)}  # fmt: skip
    out["open_over_closed_metrics"] = round(out["stroke_to_metrics_inside_open_ms"]["median"]
                                            / out["stroke_to_metrics_inside_closed_ms"]["median"], 2)  # fmt: skip
    print(out, flush=True)
    return out


def _clear(page):
    page.get_by_role("button", name="Reset canvas & history").click()
    page.get_by_text("Draw a digit on the black square").wait_for(timeout=30_000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["engine", "browser"])
    args = ap.parse_args()
    results = {}
    if args.only in (None, "engine"):
        results["engine"] = engine()
    if args.only in (None, "browser"):
        results["browser"] = browser()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
