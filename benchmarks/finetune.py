"""Fine-tuning on a style the shipped networks misread: how much it learns, forgets, and costs.

The style: mirror-written 3s, 6s and 9s, as children learning to write make them (the shipped
CNN reads them as 8s and 0s). 20 drawings of each are taught through the command line,
`python -m mnist_demo finetune MODEL --images DIR --labels LABELS.json --json --save ...`, and the
fine-tuned model is measured on 40 other drawings of each (never taught) and on the MNIST test
set. Each model is fine-tuned --repeats times; the figures are medians, and the time is the
command's whole wall-clock time (starting Python and TensorFlow, reading the pictures and MNIST,
the before/after evaluations) next to the fine-tune's own `seconds`.

    python benchmarks/finetune.py [--models cnn,mlp] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.styles import mirrored  # noqa: E402

DIGITS = (3, 6, 9)


def write_taught(folder: Path, n_each: int = 20, seed: int = 1) -> Path:
    """n_each mirror-written drawings of each digit as PNGs in `folder`, and LABELS.json."""
    images, labels = mirrored(DIGITS, n_each, seed=seed)
    names = {}
    for i, (im, digit) in enumerate(zip(images, labels)):
        name = f"taught-{i:03d}.png"
        Image.fromarray(im).save(folder / name)
        names[name] = int(digit)
    (folder / "labels.json").write_text(json.dumps(names))
    return folder / "labels.json"


def style_accuracy(model_ref: str, images, labels) -> float:
    from mnist_demo.drawing.preprocess import preprocess
    from mnist_demo.nets.inference import predict_probs
    from mnist_demo.storage.store import load_model

    x = np.stack([preprocess(im) for im in images])
    return float((predict_probs(load_model(model_ref), x).argmax(1) == labels).mean())


def run_once(model: str, folder: Path, labels: Path, out: Path) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "mnist_demo", "finetune", model, "--images", str(folder),
           "--labels", str(labels), "--json", "--save", str(out)]  # fmt: skip
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - t


def bench(model: str, repeats: int, others) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        labels = write_taught(folder)
        rows = []
        for r in range(repeats):
            out = folder / f"{model}-ft-{r}.keras"
            report, wall = run_once(model, folder, labels, out)
            rows.append({**report, "wall": wall, "style_after": style_accuracy(str(out), *others)})
        before = style_accuracy(model, *others)
    med = {k: statistics.median(r[k] for r in rows) for k in ("wall", "seconds", "style_after")}
    drop = statistics.median(r["before"]["mnist_test"] - r["after"]["mnist_test"] for r in rows)
    return {"model": model, "style_before": before, **med, "mnist_drop_points": 100 * drop,
            "mnist_before": rows[0]["before"]["mnist_test"],
            "held_out_before": rows[0]["before"]["taught"],
            "held_out_after": statistics.median(r["after"]["taught"] for r in rows)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="cnn,mlp")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    if not os.environ.get("MNIST_DATA"):
        print("note: MNIST_DATA is unset; MNIST will be downloaded", file=sys.stderr)
    others = mirrored(DIGITS, 40, seed=2)  # other drawings of the style, never taught
    for model in args.models.split(","):
        r = bench(model, args.repeats, others)
        print(f"{model}: style {r['style_before']:.1%} -> {r['style_after']:.1%} on "
              f"{len(others[1])} untaught drawings; held-out taught {r['held_out_before']:.1%} "
              f"-> {r['held_out_after']:.1%}; MNIST test {r['mnist_before']:.2%}, drop "
              f"{r['mnist_drop_points']:.2f} points; {r['wall']:.1f} s wall "
              f"({r['seconds']:.1f} s fine-tune), median of {args.repeats}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
