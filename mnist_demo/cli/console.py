"""How the CLI shows things: a training (a progress bar on a terminal, a line now and then
elsewhere) and a prediction."""

from __future__ import annotations

import json
import sys
import threading
import time

from mnist_demo.events import EVAL, HELD_OUT, PROGRESS, fraction_done, held_out_key, seconds_left


class Progress:
    """A progress bar on a terminal; a line every few seconds (and every report) otherwise."""

    def __init__(self):
        self.tty = sys.stdout.isatty()
        self.last_line = 0.0

    def __call__(self, e: dict) -> None:
        if e["kind"] not in PROGRESS:
            return
        if self.tty:
            bar = "#" * int(fraction_done(e) * 24)
            end = "\n" if e["kind"] == EVAL else ""
            sys.stdout.write(f"\r[{bar:<24}] {self.line(e)}\033[K{end}")
            sys.stdout.flush()
        elif e["kind"] == EVAL or time.monotonic() - self.last_line >= 5:
            print(self.line(e), flush=True)
            self.last_line = time.monotonic()

    @staticmethod
    def line(e: dict) -> str:
        """One progress line: a step event's training loss and accuracy, an evaluation's
        held-out ones (each event says only what it measured: no "nan" for the rest)."""
        parts = [f"step {e['step']}/{e['total_steps']} epoch {e['epoch']:.2f}"]
        if "loss" in e:
            parts.append(f"loss {e['loss']:.4f} acc {e['accuracy']:.4f}")
        if held_out := held_out_key(e):
            loss = e.get(held_out.replace("accuracy", "loss"))
            parts.append(
                f"{HELD_OUT[held_out]}"
                + ("" if loss is None else f" loss {loss:.4f}")
                + f" acc {e[held_out]:.4f}"
            )
        left = seconds_left(e)
        speed = f"{e['samples_per_s']:,.0f} samples/s" + (
            "" if left is None else f", {left:.0f} s left"
        )
        return " ".join(parts) + " | " + speed

    def close(self) -> None:
        if self.tty:
            sys.stdout.write("\n")


def prediction_line(path: str, probs, error: str | None, as_json: bool, unlike=None) -> str:
    if error is not None:
        return json.dumps({"image": path, "error": error}) if as_json else f"{path}: error: {error}"
    digit = int(probs.argmax())
    if as_json:
        rounded = [round(float(v), 6) for v in probs]
        return json.dumps(
            {"image": path, "digit": digit, "probabilities": rounded, "unlike_digit": unlike}
        )
    return f"{path}: {digit} ({probs[digit]:.1%})"


def in_background(work, stop) -> object:
    """`work()` in a thread, so that Ctrl-C calls `stop()` (a training then ends after its
    current step and keeps its model: a KeyboardInterrupt inside TensorFlow would lose it);
    returns what work() returned, or raises what it raised."""
    box = {}

    def run():
        try:
            box["result"] = work()
        except BaseException as e:  # handed to the main thread
            box["error"] = e

    worker = threading.Thread(target=run, name="train", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        print("\nstopping after this step...", file=sys.stderr, flush=True)
        stop()
        worker.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
