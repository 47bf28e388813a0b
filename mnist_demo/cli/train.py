"""python -m mnist_demo train: a recipe, its overrides from flags, the run (here, or on a Ray
cluster with --ray) with its progress on the console, and the save with its record."""

from __future__ import annotations

import argparse
import os
import sys
import threading

from mnist_demo import MODEL_NAMES
from mnist_demo.cli.console import Progress, in_background
from mnist_demo.data import load_mnist
from mnist_demo.errors import MnistDemoError, ShippedModelError
from mnist_demo.serving import cluster
from mnist_demo.serving.runner import Event, Failed
from mnist_demo.storage.saving import name_to_save, save_model
from mnist_demo.storage.store import model_path, read_meta
from mnist_demo.tfimport import import_tensorflow_quietly
from mnist_demo.training.recipes import INITS, RECIPE_NAMES, get_recipe

PROG = "python -m mnist_demo"
# train's flags that replace one recipe setting each: flag -> (the setting, its type, what it is).
OVERRIDES = {
    "--batch-size": ("batch_size", int, "the batch size"),
    "--learning-rate": ("learning_rate", float, "Adam's (peak) learning rate"),
    "--average": (
        "average_steps",
        int,
        "weight averaging: the average over about the last N "
        "steps is kept (0: the last step's weights)",
    ),
    "--label-smoothing": (
        "label_smoothing",
        float,
        "label smoothing: the share of the loss's target spread over the other digits (0: none)",
    ),
    "--seed": ("seed", int, "the random seed for initialisation and shuffling"),
    "--budget": ("budget_s", float, "a class recipe's time budget in seconds (0: none)"),
    "--validation-split": (
        "validation_split",
        float,
        "the share of the training set held "
        "out (its last images), validated on instead of the test set",
    ),
}
SETTINGS = [s for s, _, _ in OVERRIDES.values()] + ["augment", "styles", "precision", "init"]


def add_parser(sub, data_help: str) -> None:
    t = sub.add_parser("train", help="train the cnn or the mlp by a recipe and save it")
    t.add_argument("model", help=" or ".join(MODEL_NAMES))
    t.add_argument("--recipe", default="fast", help=" or ".join(RECIPE_NAMES) + " (default: fast)")
    t.add_argument("--data", help=data_help)
    t.add_argument(
        "--save",
        metavar="NAME|PATH",
        help="a name in the app's weights folder, or "
        "a .keras path (default: MODEL-RECIPE in the weights folder)",
    )
    t.add_argument("--no-save", action="store_true", help="train and evaluate only")
    t.add_argument("--replace-shipped", action="store_true", help="allow --save cnn or mlp")
    t.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard logs here")
    length = t.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="override the recipe's number of steps")
    length.add_argument("--epochs", type=int, help="override the recipe's number of epochs")
    _setting_flags(t)
    t.add_argument("--limit", type=int, help="train on the first N training and test images only")
    t.add_argument("--ray", action="store_true", help="train on $MNIST_STUDIO_RAY_ADDRESS's Ray")


def _setting_flags(t: argparse.ArgumentParser) -> None:
    """The flags that override one recipe setting each."""
    for flag, (setting, kind, text) in OVERRIDES.items():
        t.add_argument(
            flag,
            dest=setting,
            type=kind,
            metavar=flag[2:].split("-")[-1].upper(),
            help=f"override {text}",
        )
    t.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        help="override the drawing-like augmentation (shifts, rotations, stroke widths)",
    )
    t.add_argument(
        "--styles",
        action=argparse.BooleanOptionalAction,
        help="add handwriting styles: up-stroke 1s, crossbar 7s, elastic warps, loop sizes",
    )
    t.add_argument(
        "--precision",
        choices=["auto", "float32", "mixed_bfloat16"],
        help="override the precision (auto: bfloat16 where the CPU has it)",
    )
    t.add_argument(
        "--init",
        choices=INITS,
        help="override the CNN's first weights: the seed's (truncated normal 0.1) or he",
    )


def train(args, argv) -> int:
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
    import_tensorflow_quietly()
    print(
        f"training {recipe.model} with the {recipe.name} recipe on {len(data.x_train)} images "
        f"({data.source})",
        flush=True,
    )
    res = (_train_on_ray if args.ray else _train_in_background)(recipe, data, args.tensorboard)
    print(
        f"{'stopped' if res.stopped else 'done'}: {res.steps} steps ({res.epochs:.2f} epochs) "
        f"in {res.seconds:.1f} s, {res.precision}; test accuracy {res.test_accuracy:.4f}, "
        f"loss {res.test_loss:.4f}"
    )
    warning = res.verdict(_shipped_accuracy(recipe.model))
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if target is not None:
        meta = res.metadata(" ".join([PROG, *argv]))
        try:
            path = save_model(
                res.model, target.stem, meta, target.parent, replace_shipped=args.replace_shipped
            )
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
        return in_background(
            lambda: train(
                recipe, data, subscribers=[progress], stop=stop, tensorboard_dir=tensorboard_dir
            ),
            stop.set,
        )
    finally:
        progress.close()


def _override(recipe, args):
    changes = {s: getattr(args, s) for s in SETTINGS if getattr(args, s) is not None}
    if changes.get("validation_split"):
        changes["validation"] = "split"
    if changes.get("budget_s") == 0:  # --budget 0: no time budget, the recipe's epochs
        changes["budget_s"] = None
    if args.steps is not None:  # a fixed length: no time budget either
        changes.update(steps=args.steps, epochs=None, budget_s=None)
    if args.epochs is not None:
        changes.update(epochs=args.epochs, steps=None)
    try:
        return recipe.with_(**changes) if changes else recipe
    except ValueError as e:
        raise MnistDemoError(str(e)) from e


def _train_on_ray(recipe, data, tensorboard_dir=None):
    """`train --ray`: one training on the cluster, its progress on the console; Ctrl-C stops it
    after the current step and keeps the model."""
    if tensorboard_dir:
        raise MnistDemoError("--tensorboard writes on this machine: not with --ray")
    if cluster.address() is None:
        os.environ[cluster.ADDRESS_VAR] = "auto"  # the cluster this machine is part of
    run, progress = cluster.RayRun(recipe, data), Progress()

    def follow():
        outcome = Failed(f"{cluster.LOST}: it ended without a result")
        for message in run.messages():
            if isinstance(message, Event):
                progress(message.event)
            elif message is not None:
                outcome = message
        if isinstance(outcome, Failed):
            raise MnistDemoError(outcome.error)
        return outcome.result

    try:
        return in_background(follow, run.stop)
    finally:
        progress.close()
