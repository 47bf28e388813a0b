"""MNIST Studio benchmark: training throughput, recipe wall times, prediction latency, the app.

    python benchmarks/bench.py                 # everything (about 35 minutes on 2 cores)
    python benchmarks/bench.py --quick         # skip the full seed-recipe runs
    python benchmarks/bench.py --only app      # one part: throughput, recipes, predict or app
    python benchmarks/bench.py --only class    # the live class demo's figures (class_demo.py)
    python benchmarks/bench.py --only recipes --recipes mlp-fast --merge   # redo rows, keep the rest

Prints a table (median, min, max over repeats) and writes benchmarks/results.json. Needs MNIST
($MNIST_DATA or the Keras download) and, for the app part, Playwright with Chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results.json"
rows: list[dict] = []


def record(part: str, name: str, values: list[float], unit: str, **extra) -> dict:
    row = {
        "part": part,
        "name": name,
        "unit": unit,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
        **extra,
    }
    rows.append(row)
    print(
        f"  {name:<58} {_fmt(row['median'])} {unit:<10} (min {_fmt(row['min'])}, "
        f"max {_fmt(row['max'])}, n={len(values)})" + (f"  {extra}" if extra else ""),
        flush=True,
    )
    return row


def _fmt(v: float) -> str:
    return f"{v:>10,.0f}" if abs(v) >= 100 else f"{v:>10.4g}"


# ------------------------------------------------------------------------------------ machine


def machine() -> dict:
    flags = ""
    model = platform.processor()
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = re.search(r"^flags\s*:(.*)$", text, re.M).group(1).split()
        model = re.search(r"^model name\s*:(.*)$", text, re.M).group(1).strip()
    except (OSError, AttributeError):
        flags = []
    import keras
    import tensorflow as tf

    info = {
        "cpu": model,
        "cores": os.cpu_count(),
        "amx_bf16": "amx_bf16" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "avx512f": "avx512f" in flags,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    print("machine:", json.dumps(info), flush=True)
    return info


# --------------------------------------------------------------------------------- throughput


def throughput(data, repeats: int, which: list[str] | None = None) -> None:
    """Engine (metric stream, stop checks) vs plain model.fit: same model, batch, precision and
    optimizer (learning-rate schedule and weight averaging included), so the ratio is the
    engine's own cost. Stock Keras (its Adam, one step per call) is measured too: the engine's
    speed-up over what a plain script gets."""
    import keras
    import tensorflow as tf

    from mnist_demo.nets.models import build_model, resolve_precision
    from mnist_demo.training.engine import train
    from mnist_demo.training.recipes import get_recipe
    from mnist_demo.training.schedule import make_optimizer, plan_steps

    print("\ntraining throughput (samples/s, steady state after warm-up)", flush=True)
    for model_name, recipe_name, steps in [
        ("cnn", "fast", 260),
        ("cnn", "seed", 700),
        ("mlp", "fast", 700),
        ("mlp", "seed", 900),
    ]:
        if which and f"{model_name}-{recipe_name}" not in which:
            continue
        recipe = get_recipe(model_name, recipe_name)
        spe = plan_steps(recipe, len(data.x_train)).steps_per_execution
        warm = steps // 4
        eng, same, stock, eng_aug = [], [], [], []
        plain_recipe = recipe.with_(augment=False, early_stopping_patience=None)
        precision = resolve_precision(recipe.precision)
        fit = (keras, tf, build_model, precision, recipe, data, steps, warm)
        for _ in range(repeats):
            eng.append(_engine_rate(train, plain_recipe, data, steps, warm))
            same.append(_fit_rate(*fit, spe, make_optimizer(recipe, steps)))
            stock.append(_fit_rate(*fit, 1, keras.optimizers.Adam(recipe.learning_rate)))
            if recipe.augment:
                eng_aug.append(_engine_rate(train, recipe, data, steps, warm))
        label = f"{model_name} {recipe_name} (batch {recipe.batch_size})"
        record("throughput", f"plain model.fit, Keras' Adam, {label}", stock, "samples/s")
        record(
            "throughput",
            f"plain model.fit, fused Adam, {spe} steps per call, {label}",
            same,
            "samples/s",
        )
        record("throughput", f"engine, {label}", eng, "samples/s")
        record(
            "throughput",
            f"engine / plain fit with the same settings, {label}",
            [x / y for x, y in zip(eng, same)],
            "ratio",
        )
        record(
            "throughput",
            f"engine / plain fit with Keras' Adam, {label}",
            [x / y for x, y in zip(eng, stock)],
            "ratio",
        )
        if eng_aug:
            record("throughput", f"engine with augmentation, {label}", eng_aug, "samples/s")


def _engine_rate(train, recipe, data, steps, warm) -> float:
    """Samples/s over the step events after warm-up. Each event's rate covers the time since the
    previous event and leaves out test-set evaluations, which plain fit does not do."""
    import mnist_demo.training.engine as T

    events = []
    saved = T.EMIT_INTERVAL_S
    T.EMIT_INTERVAL_S = 0.25
    try:
        train(recipe, data, subscribers=[events.append], max_steps=steps)
    finally:
        T.EMIT_INTERVAL_S = saved
    samples = seconds = 0.0
    prev = None
    for e in events:
        if e["kind"] == "eval":
            prev = e["step"]
        if e["kind"] != "step":
            continue
        if prev is not None and prev >= warm and e["samples_per_s"] > 0:
            n = (e["step"] - prev) * recipe.batch_size
            samples, seconds = samples + n, seconds + n / e["samples_per_s"]
        prev = e["step"]
    return samples / seconds


def _fit_rate(keras, tf, build_model, precision, recipe, data, steps, warm, spe, optimizer):
    model = build_model(recipe.model, precision)
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=spe,
    )
    x = data.x_train
    ds = (
        tf.data.Dataset.from_tensor_slices((x, data.y_train))
        .shuffle(len(x))
        .repeat()
        .batch(recipe.batch_size, drop_remainder=True)
        .map(
            lambda a, b: (tf.cast(a, tf.float32)[..., None] / 255.0, tf.cast(b, tf.int32)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )
    # Two fits: the first traces and warms up; the second is timed whole (no callbacks at all).
    model.fit(ds, steps_per_epoch=warm, epochs=1, verbose=0, shuffle=False)
    n = (steps - warm) // spe * spe
    t = time.perf_counter()
    model.fit(ds, steps_per_epoch=n, epochs=1, verbose=0, shuffle=False)
    return n * recipe.batch_size / (time.perf_counter() - t)


# ------------------------------------------------------------------------------------ recipes


# The seed CNN recipe without its two additions: the tutorial to the letter.
VARIANTS = {"letter": ["--no-augment", "--average", "0"]}


def recipes(which: list[str]) -> None:
    """Each recipe as a whole command (`python -m mnist_demo train ...`), imports included.
    A spec is MODEL-RECIPE, or MODEL-RECIPE-VARIANT with a variant from VARIANTS."""
    print("\nrecipes: whole `train` command, wall time and test accuracy", flush=True)
    for spec in which:
        model_name, recipe_name, *variant = spec.split("-")
        extra = [a for v in variant for a in VARIANTS[v]]
        with tempfile.TemporaryDirectory() as tmp:
            save = Path(tmp) / f"{spec}.keras"
            t = time.perf_counter()
            p = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "mnist_demo",
                    "train",
                    model_name,
                    "--recipe",
                    recipe_name,
                    *extra,
                    "--save",
                    str(save),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - t
            if p.returncode != 0:
                print(p.stderr)
                raise SystemExit(f"train {spec} failed")
            meta = json.loads(save.with_suffix(".json").read_text())
        record(
            "recipes",
            " ".join(["train", model_name, "--recipe", recipe_name, *extra]),
            [wall],
            "s",
            accuracy=meta["test_accuracy"],
            steps=meta["steps"],
            train_seconds=meta["train_seconds"],
        )


# ------------------------------------------------------------------------------------ predict


def predict(data, repeats: int) -> None:
    from harness.drawings import drawing_set
    from mnist_demo.drawing.preprocess import preprocess
    from mnist_demo.nets.inference import Predictor
    from mnist_demo.storage.store import load_model

    print("\nsingle-drawing prediction in process (preprocess + model)", flush=True)
    drawings, _ = drawing_set(data.x_test, data.y_test, 200, seed=5, rgba=True)
    for name in ("cnn", "mlp"):
        model = load_model(name)
        pred = Predictor(model)
        ms = []
        for d in drawings:
            t = time.perf_counter()
            pred.probabilities(preprocess(d))
            ms.append((time.perf_counter() - t) * 1000)
        p95 = float(np.percentile(ms, 95))
        record("predict", f"{name}: preprocess + Predictor, p50", ms, "ms", p95=round(p95, 3))
        x = preprocess(drawings[0])[None, ..., None]
        base = []
        for _ in range(30):
            t = time.perf_counter()
            model.predict(x, verbose=0)
            base.append((time.perf_counter() - t) * 1000)
        record("predict", f"{name}: model.predict alone (baseline), p50", base, "ms")
    pre = []
    for d in drawings:
        t = time.perf_counter()
        preprocess(d)
        pre.append((time.perf_counter() - t) * 1000)
    record("predict", "preprocess alone (280x280 RGBA drawing)", pre, "ms")

    print("\n`predict` command: 1 image vs 600 images in one call", flush=True)
    many, _ = drawing_set(data.x_test, data.y_test, 600, seed=6)
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, d in enumerate(many):
            paths.append(str(Path(tmp) / f"{i}.png"))
            Image.fromarray(d).save(paths[-1])
        one, all_ = [], []
        for _ in range(max(1, repeats)):
            one.append(_time_cmd(["predict", "--model", "cnn", paths[0], "--json"]))
            all_.append(_time_cmd(["predict", "--model", "cnn", *paths, "--json"]))
    record("predict", "predict command, 1 image", one, "s")
    record("predict", "predict command, 600 images", all_, "s")
    extra = [(a - o) / 599 * 1000 for a, o in zip(all_, one)]
    record("predict", "predict command, cost per extra image", extra, "ms")


def _time_cmd(args) -> float:
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mnist_demo", *args], cwd=ROOT, check=True, capture_output=True
    )
    return time.perf_counter() - t


# ---------------------------------------------------------------------------------------- app


def app(repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS, start_app
    from harness.strokes import draw_digit

    print("\nthe app in headless Chromium", flush=True)
    tmp = tempfile.TemporaryDirectory()
    weights = Path(tmp.name) / "weights"  # the shipped models; the server's log goes beside them
    shutil.copytree(ROOT / "weights", weights)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ready, first, latency, rss_idle, rss_five = [], [], [], [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            proc, url, _ = start_app(weights)  # returns once the server answers its health check
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(url)
            page.locator("canvas.upper-canvas").first.wait_for(state="visible", timeout=60_000)
            ready.append(time.perf_counter() - t0)
            # Predictions: mouse-up to both Prediction metrics showing the new digit.
            page.get_by_text("Draw a digit on the black square").wait_for(timeout=60_000)
            canvas = page.locator("canvas.upper-canvas").first
            # The first stroke after the server started, drawn as soon as the page shows.
            first.append(_stroke_latency(page, canvas, 1))
            _clear(page)
            for digit in [7, 1, 0, 4, 2, 7, 1, 0, 4, 2]:
                latency.append(_stroke_latency(page, canvas, digit))
                _clear(page)
            rss_idle.append(_rss_mb(proc.pid))
            pages = [page]
            for _ in range(4):
                other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                other.goto(url)
                c = other.locator("canvas.upper-canvas").first
                c.wait_for(state="visible", timeout=60_000)
                draw_digit(other, c, 7)
                _wait_digit(other, "7")
                pages.append(other)
            rss_five.append(_rss_mb(proc.pid))
            for pg in pages:
                pg.context.close()
            proc.terminate()
            proc.wait(20)
        browser.close()
    tmp.cleanup()
    record("app", "streamlit run -> canvas ready in the browser", ready, "s")
    record("app", "first stroke after start -> Prediction metrics", [x * 1000 for x in first], "ms")
    record(
        "app",
        "stroke end -> Prediction metrics updated",
        [x * 1000 for x in latency],
        "ms",
        p95=round(float(np.percentile(latency, 95)) * 1000, 1),
    )
    record("app", "server memory, one session after drawing", rss_idle, "MB")
    record("app", "server memory, five sessions open", rss_five, "MB")


_WATCH = """digit => { window.__latency = new Promise(resolve => {
  const want = String(digit);
  const done = () => {
    const vals = [...document.querySelectorAll('[data-testid=stMetric]')]
      .filter(m => m.innerText.includes('Prediction'))
      .map(m => m.querySelector('[data-testid=stMetricValue]').innerText.trim());
    return vals.length >= 2 && vals.every(v => v === want);
  };
  window.__t_up = null;
  const obs = new MutationObserver(() => {
    if (window.__t_up !== null && done()) { obs.disconnect(); resolve(performance.now() - window.__t_up); }
  });
  obs.observe(document.body, {subtree: true, childList: true, characterData: true});
  window.__resolve_now = () => { if (done()) { obs.disconnect(); resolve(performance.now() - window.__t_up); } };
  setTimeout(() => resolve(-1), 15000);
}); }"""


def _stroke_latency(page, canvas, digit) -> float:
    """Seconds from the last mouse-up of a digit to both metrics showing it (browser clock)."""
    from harness.strokes import draw_digit_timed

    page.evaluate(_WATCH, digit)
    # Draw every stroke but the last, let the app settle, then time the final stroke's mouse-up.
    draw_digit_timed(page, canvas, digit)
    page.evaluate("() => window.__resolve_now && window.__resolve_now()")
    ms = page.evaluate("() => window.__latency")
    if ms < 0:
        raise SystemExit(f"the page never showed {digit} in every Prediction metric")
    return ms / 1000


def _wait_digit(page, digit):
    page.wait_for_function(
        "d => [...document.querySelectorAll('[data-testid=stMetric]')]"
        ".filter(m => m.innerText.includes('Prediction')).length >= 2 && "
        "[...document.querySelectorAll('[data-testid=stMetric]')]"
        ".filter(m => m.innerText.includes('Prediction'))"
        ".every(m => m.querySelector('[data-testid=stMetricValue]').innerText.trim() === d)",
        arg=digit,
        timeout=30_000,
    )


def _clear(page):
    page.get_by_role("button", name="Reset canvas & history").click()
    page.get_by_text("Draw a digit on the black square").wait_for(timeout=10_000)


def _rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024


def merge(old: list[dict], new: list[dict]) -> list[dict]:
    """Rows measured now replace the rows of the same name; the others stay, in their order."""
    fresh = {r["name"]: r for r in new}
    merged = [fresh.pop(r["name"], r) for r in old]
    return merged + list(fresh.values())


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Measured {results['when']} on {m['cores']} cores of an {m['cpu']} "
        f"(AMX bf16: {'yes' if m['amx_bf16'] else 'no'}, AVX-512 bf16: "
        f"{'yes' if m['avx512_bf16'] else 'no'}), TensorFlow {m['tensorflow']}, Keras {m['keras']}.",
        "",
        "| measurement | median | min | max | n | notes |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results["results"]:
        extra = ", ".join(
            f"{k} {v}"
            for k, v in r.items()
            if k not in ("part", "name", "unit", "median", "min", "max", "n")
        )
        lines.append(
            f"| {r['name']} | {_cell(r['median'], r['unit'])} | {_cell(r['min'], r['unit'])}"
            f" | {_cell(r['max'], r['unit'])} | {r['n']} | {extra} |"
        )
    return "\n".join(lines)


def _cell(v: float, unit: str) -> str:
    if unit == "ratio":
        return f"{v:.2f}"
    text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
    return f"{text} {unit}"


# --------------------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--only", choices=["throughput", "recipes", "predict", "app", "class"], action="append"
    )
    ap.add_argument("--quick", action="store_true", help="fast recipes only; fewer repeats")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument(
        "--recipes",
        default=None,
        help="comma-separated recipes to measure, e.g. cnn-fast,mlp-fast (default: all)",
    )
    ap.add_argument(
        "--merge",
        action="store_true",
        help="update the rows measured now in an existing --out file, keep the rest",
    )
    ap.add_argument(
        "--table",
        type=Path,
        metavar="JSON",
        help="print a results file as a Markdown table and exit",
    )
    args = ap.parse_args()
    if args.table:
        print(markdown(json.loads(args.table.read_text())))
        return
    if args.only and "class" in args.only:  # the live class demo: benchmarks/class_demo.py
        from class_demo import run

        run(["engine", "page"])
        if args.only == ["class"]:
            return
    from mnist_demo.tfimport import import_tensorflow_quietly

    import_tensorflow_quietly()
    parts = [p for p in args.only or ["throughput", "recipes", "predict", "app"] if p != "class"]
    info = machine()
    from mnist_demo.data import load_mnist

    data = load_mnist()
    repeats = 1 if args.quick else args.repeats
    if "throughput" in parts:
        throughput(data, repeats, args.recipes.split(",") if args.recipes else None)
    if "recipes" in parts:
        specs = ["cnn-fast", "mlp-fast"] + (
            [] if args.quick else ["mlp-seed", "cnn-seed", "cnn-seed-letter"]
        )
        recipes(args.recipes.split(",") if args.recipes else specs)
    if "predict" in parts:
        predict(data, repeats)
    if "app" in parts:
        app(repeats)
    results = (
        merge(json.loads(args.out.read_text())["results"], rows)
        if (args.merge and args.out.exists())
        else rows
    )
    args.out.write_text(
        json.dumps(
            {"machine": info, "when": time.strftime("%Y-%m-%d %H:%M"), "results": results},
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {args.out}\n")
    print(markdown(json.loads(args.out.read_text())))


if __name__ == "__main__":
    main()
