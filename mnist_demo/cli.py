"""The command line: python -m mnist_demo train | evaluate | predict.

Errors a user can cause print one line and exit with status 2 (1 when some images of a predict
call failed); tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from mnist_demo.errors import MnistDemoError
from mnist_demo.tfimport import import_tensorflow_quietly

PROG = "python -m mnist_demo"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage plus a line
        raise MnistDemoError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Train, evaluate and query the MNIST Studio models.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train the cnn or the mlp by a recipe and save it")
    t.add_argument("model", help="cnn or mlp")
    t.add_argument("--recipe", default="fast", help="seed (the tutorial's schedule) or fast")
    t.add_argument(
        "--data", help="mnist.npz or a folder of IDX files (default: $MNIST_DATA, else download)"
    )
    t.add_argument("--save", help="where to save (default: weights/MODEL-RECIPE.keras)")
    t.add_argument("--no-save", action="store_true", help="train and evaluate only")
    t.add_argument(
        "--tensorboard", metavar="DIR", help="write TensorBoard logs (graph and scalars) here"
    )
    t.add_argument("--steps", type=int, help="override the recipe's number of steps")
    t.add_argument("--epochs", type=int, help="override the recipe's number of epochs")
    t.add_argument("--batch-size", type=int, help="override the recipe's batch size")
    t.add_argument("--learning-rate", type=float, help="override the recipe's learning rate")
    t.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="override the recipe's drawing-like augmentation (shifts, rotations, stroke widths)",
    )
    t.add_argument(
        "--precision",
        choices=["auto", "float32", "mixed_bfloat16"],
        help="override the recipe's precision (auto: bfloat16 where the CPU has it)",
    )
    t.add_argument(
        "--average",
        type=int,
        metavar="STEPS",
        help="override the recipe's weight averaging: keep the average over about the last "
        "STEPS steps (0: the last step's weights)",
    )
    t.add_argument("--seed", type=int, help="random seed for initialisation and shuffling")
    t.add_argument("--limit", type=int, help="train on the first N training and test images only")

    e = sub.add_parser("evaluate", help="accuracy and loss on the MNIST test set")
    e.add_argument("model", help="cnn, mlp, a saved model's name, or a path to a .keras file")
    e.add_argument("--data", help="mnist.npz or a folder of IDX files")
    e.add_argument("--limit", type=int, help="evaluate on the first N test images only")
    e.add_argument("--json", action="store_true", help="print one JSON object")

    r = sub.add_parser("predict", help="the digit in each image, preprocessed as the app does")
    r.add_argument(
        "images", nargs="+", metavar="IMAGE", help="PNG, JPEG, ... of any size and polarity"
    )
    r.add_argument(
        "--model", default="cnn", help="cnn (default), mlp, a saved name, or a .keras path"
    )
    r.add_argument("--json", action="store_true", help="one JSON object per image, one per line")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        if args.command != "predict":
            import_tensorflow_quietly()
        return {"train": _train, "evaluate": _evaluate, "predict": _predict}[args.command](
            args, argv
        )
    except MnistDemoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _train(args, argv) -> int:
    from mnist_demo.recipes import get_recipe

    recipe = get_recipe(args.model, args.recipe)
    recipe = _override(recipe, args)
    save_path = (
        None if args.no_save else Path(args.save or f"weights/{args.model}-{args.recipe}.keras")
    )
    if save_path is not None and save_path.suffix != ".keras":
        raise MnistDemoError(f"--save {save_path}: the file name must end in .keras")

    from mnist_demo.data import load_mnist
    from mnist_demo.store import save_model
    from mnist_demo.training import train

    data = load_mnist(args.data)
    if args.limit:
        data = data.head(args.limit)
    print(
        f"training {recipe.model} with the {recipe.name} recipe on {len(data.x_train)} images "
        f"({data.source})",
        flush=True,
    )
    stop = threading.Event()
    box: dict = {}
    progress = _Progress()

    def work():
        try:
            box["result"] = train(
                recipe, data, subscribers=[progress], stop=stop, tensorboard_dir=args.tensorboard
            )
        except BaseException as e:  # handed to the main thread
            box["error"] = e

    worker = threading.Thread(target=work, name="train", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:  # Ctrl-C stops after the current batch and keeps the model
        print("\nstopping after this batch...", file=sys.stderr, flush=True)
        stop.set()
        worker.join()
    if "error" in box:
        raise box["error"]
    res = box["result"]
    progress.close()
    print(
        f"{'stopped' if res.stopped else 'done'}: {res.steps} steps ({res.epochs:.2f} epochs) in "
        f"{res.seconds:.1f} s, {res.precision}; test accuracy {res.test_accuracy:.4f}, "
        f"loss {res.test_loss:.4f}"
    )
    if save_path is not None:
        meta = {
            "model": recipe.model,
            "recipe": recipe.name,
            "settings": recipe.settings(),
            "precision": res.precision,
            "test_accuracy": round(res.test_accuracy, 6),
            "test_loss": round(res.test_loss, 6),
            "test_images": len(data.x_test),
            "train_images": len(data.x_train),
            "steps": res.steps,
            "epochs": round(res.epochs, 3),
            "train_seconds": round(res.seconds, 2),
            "stopped_early": res.stopped,
            "command": " ".join([PROG, *argv]),
        }
        path = save_model(res.model, save_path.stem, meta, save_path.parent)
        print(f"saved {path} (and {path.with_suffix('.json').name})")
    return 0


# train's flags that replace one recipe setting each (steps and epochs replace each other).
_OVERRIDES = {
    "batch_size": "batch_size",
    "learning_rate": "learning_rate",
    "augment": "augment",
    "seed": "seed",
    "average": "average_steps",
    "precision": "precision",
}


def _override(recipe, args):
    changes = {}
    if args.steps is not None:
        changes.update(steps=args.steps, epochs=None)
    if args.epochs is not None:
        changes.update(epochs=args.epochs, steps=None)
    for flag, setting in _OVERRIDES.items():
        if getattr(args, flag) is not None:
            changes[setting] = getattr(args, flag)
    try:
        return recipe.with_(**changes) if changes else recipe
    except ValueError as e:
        raise MnistDemoError(str(e)) from e


def _evaluate(args, argv) -> int:
    from mnist_demo.data import load_mnist
    from mnist_demo.store import load_model
    from mnist_demo.training import evaluate

    model = load_model(args.model)
    data = load_mnist(args.data)
    x, y = data.x_test, data.y_test
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    loss, acc = evaluate(model, x, y)
    if args.json:
        print(json.dumps({"model": str(args.model), "accuracy": acc, "loss": loss, "n": len(y)}))
    else:
        print(f"{args.model}: test accuracy {acc:.4f}, loss {loss:.4f} on {len(y)} images")
    return 0


def _predict(args, argv) -> int:
    import numpy as np

    from mnist_demo.errors import DrawingError
    from mnist_demo.preprocess import load_image, preprocess

    inputs, errors = {}, {}
    for path in args.images:
        try:
            inputs[path] = preprocess(load_image(path))
        except DrawingError as e:
            errors[path] = str(e)
    probs = {}
    if inputs:
        import_tensorflow_quietly()
        from mnist_demo.store import load_model
        from mnist_demo.training import predict_probs

        model = load_model(args.model)
        batch = np.stack(list(inputs.values()))[..., None]
        probs = dict(zip(inputs, predict_probs(model, batch)))
    for path in args.images:
        if path in errors:
            line = {"image": path, "error": errors[path]}
            print(json.dumps(line) if args.json else f"{path}: error: {errors[path]}")
        else:
            p = probs[path]
            digit = int(p.argmax())
            if args.json:
                print(
                    json.dumps(
                        {
                            "image": path,
                            "digit": digit,
                            "probabilities": [round(float(v), 6) for v in p],
                        }
                    )
                )
            else:
                print(f"{path}: {digit} ({p[digit]:.1%})")
    if errors:
        print(
            f"error: {len(errors)} of {len(args.images)} images could not be read", file=sys.stderr
        )
        return 1
    return 0


class _Progress:
    """A progress bar on a terminal; a line every few seconds (and every report) otherwise."""

    def __init__(self):
        self.tty = sys.stdout.isatty()
        self.last_line = 0.0

    def __call__(self, e: dict) -> None:
        if e["kind"] not in ("step", "eval"):
            return
        done = e["step"] / max(1, e["total_steps"])
        rate = e["samples_per_s"]
        left = (e["total_steps"] - e["step"]) * (e["elapsed"] / max(1, e["step"]))
        acc = next((e[k] for k in ("test_accuracy", "val_accuracy") if k in e), None)
        text = (
            f"step {e['step']}/{e['total_steps']} epoch {e['epoch']:.2f} "
            f"loss {e.get('loss', float('nan')):.4f} acc {e.get('accuracy', float('nan')):.4f}"
            + (
                f" {'test' if 'test_accuracy' in e else 'val'}_acc {acc:.4f}"
                if acc is not None
                else ""
            )
            + f" | {rate:,.0f} samples/s, {left:.0f} s left"
        )
        if self.tty:
            bar = "#" * int(done * 24)
            end = "\n" if e["kind"] == "eval" else ""
            sys.stdout.write(f"\r[{bar:<24}] {text}\033[K{end}")
            sys.stdout.flush()
        elif e["kind"] == "eval" or time.monotonic() - self.last_line >= 5:
            print(text, flush=True)
            self.last_line = time.monotonic()

    def close(self) -> None:
        if self.tty:
            sys.stdout.write("\n")
