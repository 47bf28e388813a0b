"""Soak test: many trainings in one server process, through the job path the page uses.

    python benchmarks/soak.py --trainings 30 --json

Trains the CNN and the MLP in turn (a few steps of the fast recipe each), stopping every other
one as a visitor pressing Stop would, and prints the process's resident memory and thread count
after each training, then how both grew between training 5 and the last. Needs MNIST
($MNIST_DATA or the Keras download).
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


def status(field: str) -> int:
    """A number from /proc/self/status: VmRSS in kB, Threads (the OS's, TensorFlow's included)."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+)", text, re.M).group(1))


def one_training(i: int, data, slots, steps: int):
    from mnist_demo.jobs import FINISHED, TrainingJob
    from mnist_demo.recipes import get_recipe

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trainings", type=int, default=30)
    ap.add_argument("--steps", type=int, default=20, help="steps per training (default 20)")
    ap.add_argument("--json", action="store_true", help="JSON lines only")
    args = ap.parse_args()
    import_tensorflow_quietly()
    from mnist_demo.data import load_mnist
    from mnist_demo.jobs import TrainingSlots

    data, slots, rows = load_mnist(), TrainingSlots(1), []
    for i in range(1, args.trainings + 1):
        view = one_training(i, data, slots, args.steps)
        del view
        gc.collect()
        row = {"i": i, "rss_mb": round(status("VmRSS") / 1024, 1), "threads": status("Threads")}
        rows.append(row)
        print(json.dumps(row) if args.json else f"training {i:>3}: {row}", flush=True)
    base, last = rows[min(4, len(rows) - 1)], rows[-1]
    summary = {
        "rss_growth_pct": round(100 * (last["rss_mb"] - base["rss_mb"]) / base["rss_mb"], 2),
        "threads_growth": last["threads"] - base["threads"],
    }
    print(json.dumps(summary) if args.json else f"from training 5 to {len(rows)}: {summary}")


if __name__ == "__main__":
    main()
