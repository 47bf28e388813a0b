"""The command line: train, evaluate, predict, report, calibrate-unlike, finetune, calibrate.

Errors a user can cause print one line and exit with status 2 (1 when some images of a predict
call failed); tracebacks are for bugs. Modules that import TensorFlow are imported inside the
commands, after `import_tensorflow_quietly()`: else `--help` would wait seconds for TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

import numpy as np

from mnist_demo import MODEL_NAMES
from mnist_demo.cli import inside as cli_inside
from mnist_demo.cli import teach as cli_teach
from mnist_demo.cli.console import Progress, in_background, prediction_line
from mnist_demo.data import ENV_VAR, load_mnist
from mnist_demo.drawing.preprocess import load_image, preprocess
from mnist_demo.errors import (
    BlankDrawing,
    DrawingError,
    MnistDemoError,
    ShippedModelError,
    first_line,
)
from mnist_demo.serving import cluster
from mnist_demo.storage.saving import name_to_save, save_model
from mnist_demo.storage.store import load_model, model_path, read_meta
from mnist_demo.tfimport import import_tensorflow_quietly
from mnist_demo.training.recipes import RECIPE_NAMES, get_recipe

PROG = "python -m mnist_demo"
MODEL_HELP = "cnn, mlp, a saved model's name, or a path to a .keras file"
DATA_HELP = f"mnist.npz or a folder of IDX files (default: ${ENV_VAR}, else download)"
# train's flags that replace one recipe setting each: flag -> (the setting, its type, what it is).
OVERRIDES = {
    "--batch-size": ("batch_size", int, "the batch size"),
    "--learning-rate": ("learning_rate", float, "Adam's (peak) learning rate"),
    "--average": ("average_steps", int, "weight averaging: the average over about the last N "
                  "steps is kept (0: the last step's weights)"),
    "--seed": ("seed", int, "the random seed for initialisation and shuffling"),
    "--budget": ("budget_s", float, "a class recipe's time budget in seconds"),
    "--validation-split": ("validation_split", float, "the share of the training set held "
                           "out (its last images), validated on instead of the test set"),
}  # fmt: skip
SETTINGS = [s for s, _, _ in OVERRIDES.values()] + ["augment", "styles", "precision"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage plus a line
        raise MnistDemoError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Train, evaluate and query the MNIST Studio models.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _train_parser(sub.add_parser("train", help="train the cnn or the mlp by a recipe and save it"))
    e = sub.add_parser("evaluate", help="accuracy and loss on the MNIST test set")
    e.add_argument("model", help=MODEL_HELP)
    e.add_argument("--data", help=DATA_HELP)
    e.add_argument("--limit", type=int, help="evaluate on the first N test images only")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    r = sub.add_parser("predict", help="the digit in each image, preprocessed as the app does")
    r.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG... any size, polarity")
    r.add_argument("--model", default="cnn", help=f"{MODEL_HELP} (default: cnn)")
    r.add_argument("--json", action="store_true", help="one JSON object per image, one per line")
    cli_inside.add_parsers(sub, MODEL_HELP, DATA_HELP)
    cli_teach.add_parsers(sub, MODEL_HELP, DATA_HELP)
    return p


def _train_parser(t: argparse.ArgumentParser) -> None:
    t.add_argument("model", help=" or ".join(MODEL_NAMES))
    t.add_argument("--recipe", default="fast", help=" or ".join(RECIPE_NAMES) + " (default: fast)")
    t.add_argument("--data", help=DATA_HELP)
    t.add_argument("--save", metavar="NAME|PATH", help="a name in the app's weights folder, or "
                   "a .keras path (default: MODEL-RECIPE in the weights folder)")  # fmt: skip
    t.add_argument("--no-save", action="store_true", help="train and evaluate only")
    t.add_argument("--replace-shipped", action="store_true", help="allow --save cnn or mlp")
    t.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard logs here")
    length = t.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="override the recipe's number of steps")
    length.add_argument("--epochs", type=int, help="override the recipe's number of epochs")
    for flag, (setting, kind, text) in OVERRIDES.items():
        t.add_argument(flag, dest=setting, type=kind, metavar=flag[2:].split("-")[-1].upper(),
                       help=f"override {text}")  # fmt: skip
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, help="override the "
                   "drawing-like augmentation (shifts, rotations, stroke widths)")  # fmt: skip
    t.add_argument("--styles", action=argparse.BooleanOptionalAction, help="add handwriting "
                   "styles: up-stroke 1s, crossbar 7s, elastic warps, loop sizes")  # fmt: skip
    t.add_argument("--precision", choices=["auto", "float32", "mixed_bfloat16"],
                   help="override the precision (auto: bfloat16 where the CPU has it)")  # fmt: skip
    t.add_argument("--limit", type=int, help="train on the first N training and test images only")
    t.add_argument("--ray", action="store_true", help="train on $MNIST_STUDIO_RAY_ADDRESS's Ray")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        if args.command != "predict":  # predict imports TensorFlow only once an image is read
            import_tensorflow_quietly()
        commands = {
            "train": _train,
            "evaluate": _evaluate,
            "predict": _predict,
            "report": cli_inside.report,
            "calibrate-unlike": cli_inside.calibrate_unlike,
            "finetune": cli_teach.finetune,
            "calibrate": cli_teach.calibrate,
        }
        return commands[args.command](args, argv)
    except MnistDemoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk or a folder it may not write: one line, not a traceback
        where = f" ({e.filename})" if e.filename else ""
        print(f"error: {e.strerror or first_line(e)}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _train(args, argv) -> int:
    recipe = _override(get_recipe(args.model, args.recipe), args)
    target = None if args.no_save else model_path(args.save or f"{args.model}-{args.recipe}")
    if target is not None:
        if target.suffix != ".keras":
            raise MnistDemoError(f"--save {target}: the file name must end in .keras")
        try:
            name_to_save(target.stem, args.replace_shipped)  # refused now, not after training
        except ShippedModelError as e:
            raise ShippedModelError(f"{e}, or pass --replace-shipped") from None
    data = load_mnist(args.data)
    if args.limit:
        data = data.head(args.limit)
    print(f"training {recipe.model} with the {recipe.name} recipe on {len(data.x_train)} images "
          f"({data.source})", flush=True)  # fmt: skip
    res = (cluster.train if args.ray else _train_in_background)(recipe, data, args.tensorboard)
    print(f"{'stopped' if res.stopped else 'done'}: {res.steps} steps ({res.epochs:.2f} epochs) "
          f"in {res.seconds:.1f} s, {res.precision}; test accuracy {res.test_accuracy:.4f}, "
          f"loss {res.test_loss:.4f}")  # fmt: skip
    warning = res.verdict(_shipped_accuracy(recipe.model))
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if target is not None:
        meta = res.metadata(" ".join([PROG, *argv]))
        try:
            path = save_model(res.model, target.stem, meta, target.parent,
                              replace_shipped=args.replace_shipped)  # fmt: skip
        except OSError as e:  # a full disk, a folder it may not write: one line, exit 2
            where = e.filename or target
            raise MnistDemoError(f"could not save {target}: {e.strerror or e} ({where})") from e
        print(f"saved {path} (its record inside, a copy in {path.with_suffix('.json').name})")
    return 0


def _shipped_accuracy(kind: str) -> float | None:
    """The shipped model's test accuracy: what `predict` answers with unless told otherwise."""
    try:
        return read_meta(model_path(kind)).get("test_accuracy")
    except MnistDemoError:
        return None


def _train_in_background(recipe, data, tensorboard_dir):
    """Train in a worker thread, so that Ctrl-C stops after the current batch and keeps the model
    (a KeyboardInterrupt inside TensorFlow would lose it)."""
    from mnist_demo.training.engine import train

    stop, progress = threading.Event(), Progress()
    try:
        return in_background(lambda: train(recipe, data, subscribers=[progress], stop=stop,
                                           tensorboard_dir=tensorboard_dir), stop.set)  # fmt: skip
    finally:
        progress.close()


def _override(recipe, args):
    changes = {s: getattr(args, s) for s in SETTINGS if getattr(args, s) is not None}
    if changes.get("validation_split"):
        changes["validation"] = "split"
    if args.steps is not None:
        changes.update(steps=args.steps, epochs=None)
    if args.epochs is not None:
        changes.update(epochs=args.epochs, steps=None)
    try:
        return recipe.with_(**changes) if changes else recipe
    except ValueError as e:
        raise MnistDemoError(str(e)) from e


def _evaluate(args, argv) -> int:
    from mnist_demo.nets.inference import evaluate

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
    inputs, errors = {}, {}
    for path in args.images:
        try:
            inputs[path] = preprocess(load_image(path))
        except BlankDrawing:
            errors[path] = f"no ink found in {path}"
        except DrawingError as e:
            errors[path] = str(e)
    probs, unlike = {}, {}
    if inputs:
        import_tensorflow_quietly()
        from mnist_demo.nets.inference import predict_probs

        batch = np.stack(list(inputs.values()))
        probs = dict(zip(inputs, predict_probs(load_model(args.model), batch)))
        unlike = dict(zip(inputs, cli_inside.unlike_flags(batch) if args.json else []))
    for path in args.images:
        print(prediction_line(path, probs.get(path), errors.get(path), args.json,
                               unlike.get(path)))  # fmt: skip
    if errors:
        print(f"error: {len(errors)} of {len(args.images)} images could not be read",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0
