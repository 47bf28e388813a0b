"""How well models read handwriting beyond MNIST, and how far their confidence can be trusted.

For each model: accuracy on the MNIST test set, on pen drawings of the last 2,000 MNIST test
digits (harness/drawings.py, both polarities), and on the handwriting-styles set kept in
tests/data (harness/styles.py: up-stroke 1s, crossbar 7s, closed and hooked 4s, small-headed 9s,
5s... both polarities), per style with --styles; and the expected calibration error (ECE, 15
bins) on the MNIST test set and on the pen drawings.

    python benchmarks/handwriting.py cnn mlp [/path/to/other.keras ...] [--styles]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.drawings import drawing_set  # noqa: E402
from harness.styles import load_set  # noqa: E402

N_PEN = 2_000


def inputs():
    from mnist_demo.data import load_mnist
    from mnist_demo.drawing.preprocess import preprocess

    data = load_mnist()
    pen, pen_y = drawing_set(data.x_test[-N_PEN:], data.y_test[-N_PEN:], N_PEN, seed=3)
    styled, styled_y, styles = load_set()
    return {
        "mnist": (data.x_test, data.y_test),
        "pen": (np.stack([preprocess(im) for im in pen]), pen_y),
        "styles": (np.stack([preprocess(im) for im in styled]), styled_y, styles),
    }


def measure(ref: str, sets) -> dict:
    from mnist_demo.nets.calibrate import ece
    from mnist_demo.nets.inference import predict_probs
    from mnist_demo.storage.store import load_model

    model = load_model(ref)
    out = {}
    for name, (x, y, *rest) in sets.items():
        p = predict_probs(model, x)
        right = p.argmax(1) == y
        out[name] = float(right.mean())
        out[f"{name}_ece"] = ece(p, y)
        if rest:
            styles = np.array(rest[0])
            out["per_style"] = {s: float(right[styles == s].mean()) for s in dict.fromkeys(rest[0])}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--styles", action="store_true", help="accuracy per style too")
    args = p.parse_args()
    from mnist_demo.tfimport import import_tensorflow_quietly

    import_tensorflow_quietly()
    sets = inputs()
    n = {k: len(v[1]) for k, v in sets.items()}
    print(f"images: MNIST test {n['mnist']}, pen drawings {n['pen']}, styles {n['styles']}")
    for ref in args.models:
        r = measure(ref, sets)
        print(f"{ref}: MNIST test {r['mnist']:.4f} (ECE {r['mnist_ece']:.4f}); pen drawings "
              f"{r['pen']:.4f} (ECE {r['pen_ece']:.4f}); styles {r['styles']:.4f} "
              f"(ECE {r['styles_ece']:.4f})", flush=True)  # fmt: skip
        if args.styles:
            print("  " + ", ".join(f"{s} {a:.2f}" for s, a in r["per_style"].items()))


if __name__ == "__main__":
    main()
