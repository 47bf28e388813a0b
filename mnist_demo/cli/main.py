"""The command line: train, evaluate, predict, report, calibrate-unlike, finetune, calibrate.

Errors a user can cause print one line and exit with status 2 (1 when some images of a predict
call failed); tracebacks are for bugs. Modules that import TensorFlow are imported inside the
commands, after `import_tensorflow_quietly()`, which each command calls once what a user typed
has been checked: `--help`, an unknown model or recipe, a missing MNIST file or a bad picture
answer at once instead of after seconds of TensorFlow's import.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from mnist_demo.cli import inside as cli_inside
from mnist_demo.cli import teach as cli_teach
from mnist_demo.cli import train as cli_train
from mnist_demo.cli.console import prediction_line
from mnist_demo.data import ENV_VAR, load_mnist
from mnist_demo.drawing.preprocess import load_image, preprocess
from mnist_demo.errors import (
    BlankDrawing,
    DrawingError,
    MnistDemoError,
    first_line,
)
from mnist_demo.storage.store import load_model, resolve
from mnist_demo.tfimport import import_tensorflow_quietly

PROG = "python -m mnist_demo"
MODEL_HELP = "cnn, mlp, a saved model's name, or a path to a .keras file"
DATA_HELP = f"mnist.npz or a folder of IDX files (default: ${ENV_VAR}, else download)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage plus a line
        raise MnistDemoError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Train, evaluate and query the MNIST Studio models.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    cli_train.add_parser(sub, DATA_HELP)
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        commands = {
            "train": cli_train.train,
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


def _evaluate(args, argv) -> int:
    path = resolve(args.model)  # an unknown name is refused before TensorFlow's import
    data = load_mnist(args.data)
    import_tensorflow_quietly()
    from mnist_demo.nets.inference import evaluate

    model = load_model(path)
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
    model = resolve(args.model)  # an unknown name is refused before TensorFlow's import
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
        probs = dict(zip(inputs, predict_probs(load_model(model), batch)))
        unlike = dict(zip(inputs, cli_inside.unlike_flags(batch) if args.json else []))
    for path in args.images:
        print(prediction_line(path, probs.get(path), errors.get(path), args.json, unlike.get(path)))
    if errors:
        print(
            f"error: {len(errors)} of {len(args.images)} images could not be read", file=sys.stderr
        )
        return 1
    return 0
