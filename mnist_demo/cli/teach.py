"""The commands that teach and calibrate: python -m mnist_demo finetune | calibrate."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np

from mnist_demo import MODEL_NAMES
from mnist_demo.data import load_mnist
from mnist_demo.drawing.preprocess import load_image, preprocess
from mnist_demo.errors import BlankDrawing, DrawingError, MnistDemoError
from mnist_demo.storage.saving import name_to_save, save_model
from mnist_demo.storage.store import load_model, model_path, read_meta, resolve
from mnist_demo.storage.teach import as_uint8
from mnist_demo.tfimport import import_tensorflow_quietly

MAX_IMAGES = 2_000


def add_parsers(sub, model_help: str, data_help: str) -> None:
    f = sub.add_parser(
        "finetune",
        help="fine-tune a model on your own digits (a folder of "
        "pictures and their labels), keeping what it knows of MNIST",
    )
    f.add_argument("model", help=model_help)
    f.add_argument("--images", required=True, metavar="DIR", help="a folder of digit pictures")
    f.add_argument(
        "--labels", required=True, metavar="LABELS.json", help='{"file name in DIR": digit, ...}'
    )
    f.add_argument("--data", help=data_help)
    f.add_argument(
        "--steps", type=int, help="fine-tuning steps (default: 300 for a cnn, 600 for an mlp)"
    )
    f.add_argument("--save", metavar="NAME|PATH", help="save the fine-tuned model")
    f.add_argument("--json", action="store_true", help="print one JSON object")
    c = sub.add_parser(
        "calibrate",
        help="temperature-scale a model on the held-out part of "
        "the training set it was trained without, and save it in place",
    )
    c.add_argument("model", help=model_help)
    c.add_argument("--data", help=data_help)
    c.add_argument("--replace-shipped", action="store_true", help="allow calibrating cnn or mlp")
    c.add_argument("--json", action="store_true", help="print one JSON object")


def read_taught(folder: str, labels_file: str) -> tuple[np.ndarray, np.ndarray]:
    """The pictures LABELS.json names in `folder`, preprocessed as the app does, and their digits."""
    try:
        labels = json.loads(Path(labels_file).read_text())
    except OSError as e:
        raise MnistDemoError(f"cannot read {labels_file}: {e.strerror or e}") from e
    except ValueError as e:
        raise MnistDemoError(f"{labels_file} is not JSON: {e}") from e
    if not isinstance(labels, dict) or not labels:
        raise MnistDemoError(f'{labels_file} must map file names to digits: {{"a.png": 7}}')
    if len(labels) > MAX_IMAGES:
        raise MnistDemoError(f"{labels_file} names {len(labels)} pictures; at most {MAX_IMAGES}")
    xs, ys, bad = [], [], []
    for name, digit in labels.items():
        if _digit(digit) is None:
            bad.append(f"{name}: label {digit!r} is not a digit 0-9")
            continue
        try:
            xs.append(preprocess(load_image(Path(folder) / name)))
            ys.append(_digit(digit))
        except BlankDrawing:
            bad.append(f"{name}: no ink found")
        except DrawingError as e:
            bad.append(str(e))
    if bad:
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise MnistDemoError("; ".join(bad[:3]) + more)
    return np.stack([as_uint8(x) for x in xs]), np.array(ys, dtype=np.uint8)


def _digit(label) -> int | None:
    """0-9 from 7 or "7"; None for anything else (True, 7.5, "seven", 12)."""
    if isinstance(label, int) and not isinstance(label, bool) and 0 <= label <= 9:
        return label
    if isinstance(label, str) and len(label) == 1 and label.isdigit():
        return int(label)
    return None


def finetune(args, argv) -> int:
    # A bad folder, labels file, name or model: said at once, before TensorFlow's import.
    x, y = read_taught(args.images, args.labels)
    target = model_path(args.save) if args.save else None
    if target is not None:
        name_to_save(target.stem)  # a shipped model's name is refused before the work
    path = resolve(args.model)
    import_tensorflow_quietly()
    from mnist_demo.training.finetune import FineTune, fine_tune_recipe
    from mnist_demo.training.finetune import finetune as run

    model = load_model(path)
    if model.name not in MODEL_NAMES:
        raise MnistDemoError(f"{args.model} is neither a cnn nor an mlp ({model.name!r})")
    steps = {"steps": args.steps} if args.steps else {}
    spec = FineTune(
        model.name,
        model.get_weights(),
        x,
        y,
        base=str(args.model),
        recipe=fine_tune_recipe(model.name, **steps),
    )
    result = run(spec, load_mnist(args.data))
    report = result.extra["finetune"]
    out = {k: report[k] for k in ("before", "after", "seconds", "taught", "held_out")}
    if target is not None:
        meta = result.metadata(shlex.join(["python", "-m", "mnist_demo", *argv]))
        out["saved"] = str(save_model(result.model, target.stem, meta, target.parent))
    _print_finetune(out, len(y), args.json)
    return 0


def _print_finetune(out: dict, n: int, as_json: bool) -> None:
    if as_json:
        print(json.dumps(out))
        return
    for when in ("before", "after"):
        taught = out[when]["taught"]
        shown = "none held out" if taught is None else f"{taught:.1%}"
        print(f"{when}: MNIST test {out[when]['mnist_test']:.2%}, held-out taught digits {shown}")
    print(
        f"{n} digits ({out['held_out']} held out) in {out['seconds']:.1f} s"
        + (f"; saved {out['saved']}" if "saved" in out else "")
    )


def calibrate(args, argv) -> int:
    import_tensorflow_quietly()
    from mnist_demo.nets.calibrate import calibrate as fit

    path = model_path(args.model)
    meta = read_meta(path)
    settings = meta.get("settings", {})
    data = load_mnist(args.data)
    held = int(len(data.x_train) * settings.get("validation_split", 0.0))
    if settings.get("validation") != "split" or held < 100:
        raise MnistDemoError(
            f"{args.model} trained on the whole training set: nothing held out "
            "to calibrate on (train it with --validation-split 0.05)"
        )
    model = load_model(args.model)
    if meta.get("calibration"):
        raise MnistDemoError(
            f"{args.model} is calibrated already (T = {meta['calibration']['temperature']})"
        )
    record = fit(model, data.x_train[-held:], data.y_train[-held:])
    record["command"] = shlex.join(["python", "-m", "mnist_demo", *argv])
    meta = {k: v for k, v in meta.items() if k not in ("sha256", "content_sha256")}
    save_model(
        model,
        path.stem,
        {**meta, "calibration": record},
        path.parent,
        replace_shipped=args.replace_shipped,
    )
    print(
        json.dumps(record)
        if args.json
        else f"{path.name}: T = {record['temperature']}, "
        f"ECE on {held} held-out digits {record['ece_before']:.4f} -> {record['ece_after']:.4f}"
    )
    return 0
