"""Recipe variants scored on the training set's held-out tail, never on the test set.

Each variant trains on the first 90% of MNIST's training set (the recipe's own settings, with the
changes given, a fixed number of steps instead of a time budget) and is scored on all 6,000
digits of the last 10%. The MNIST test set is not read: this is where recipes are chosen.

    python benchmarks/held_out.py --variants '{"500 steps": {"steps": 500}}' --seeds 0,1,2,3
    python benchmarks/held_out.py --model cnn --recipe class \\
        --variants '{"no augmentation": {"steps": 500, "augment": false}}'
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TAIL = 0.1  # the share of the training set held out: its last 6,000 digits


def score(model: str, recipe: str, changes: dict, seed: int) -> tuple[float, int, float]:
    """(tail accuracy, steps, seconds) of one training."""
    from mnist_demo.data import Mnist, load_mnist
    from mnist_demo.training.engine import train
    from mnist_demo.training.recipes import get_recipe

    data = load_mnist()
    cut = len(data.x_train) - int(len(data.x_train) * TAIL)
    # The tail stands where the test set would: the run's final evaluation reads it whole.
    tail = Mnist(data.x_train, data.y_train, data.x_train[cut:], data.y_train[cut:], "tail")
    length = {"budget_s": None, "epochs": None} if "steps" in changes else {"budget_s": None}
    settings = {"validation": "split", "validation_split": TAIL, "seed": seed, **length}
    r = get_recipe(model, recipe).with_(**{**settings, **changes})
    t = time.perf_counter()
    result = train(r, tail)
    return result.test_accuracy, result.steps, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="cnn")
    ap.add_argument("--recipe", default="class")
    ap.add_argument("--variants", required=True, help='JSON: {"name": {recipe setting: value}}')
    ap.add_argument("--seeds", default="1,2,3")
    args = ap.parse_args()
    from mnist_demo.tfimport import import_tensorflow_quietly

    import_tensorflow_quietly()
    for name, changes in json.loads(args.variants).items():
        accuracies = []
        for seed in map(int, args.seeds.split(",")):
            accuracy, steps, seconds = score(args.model, args.recipe, changes, seed)
            accuracies.append(accuracy)
            print(f"{name}: seed {seed}, {steps} steps, tail {accuracy:.4f} ({seconds:.0f} s)")
        print(f"{name}: mean {statistics.mean(accuracies):.4f} over {len(accuracies)} seeds")


if __name__ == "__main__":
    main()
