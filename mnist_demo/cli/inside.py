"""The commands that look inside: python -m mnist_demo report | calibrate-unlike."""

from __future__ import annotations

import json
import platform
import shlex
import sys
import time

from mnist_demo.data import load_mnist
from mnist_demo.storage.archive import sha256_file
from mnist_demo.storage.store import load_model, resolve, weights_root
from mnist_demo.tfimport import import_tensorflow_quietly

MISTAKES_SHOWN = 20  # in the text report; --json lists every mistake


def add_parsers(sub, model_help: str, data_help: str) -> None:
    r = sub.add_parser("report", help="accuracy per class, confusion matrix, confident mistakes")
    r.add_argument("model", help=model_help)
    r.add_argument("--data", help=data_help)
    r.add_argument("--json", action="store_true", help="print one JSON object")
    c = sub.add_parser(
        "calibrate-unlike",
        help="fit the 'does not look like a digit' detector "
        "to the shipped networks (writes unlike.npz in the weights folder)",
    )
    c.add_argument("--data", help=data_help)


def report(args, argv) -> int:
    path = resolve(args.model)  # an unknown name is refused before TensorFlow's import
    data = load_mnist(args.data)
    import_tensorflow_quietly()
    from mnist_demo.nets.report import test_report

    model = load_model(path)
    rep = test_report(model, data.x_test, data.y_test)
    if args.json:
        print(json.dumps(rep.to_json(data.y_test, limit=None)))
        return 0
    print(f"{args.model}: test accuracy {rep.accuracy:.4f} on {rep.n} images ({rep.seconds:.1f} s)")
    print("per class: " + "  ".join(f"{c}: {a:.4f}" for c, a in enumerate(rep.per_class)))
    print("confusion (rows: true digit, columns: read as)")
    print("     " + "".join(f"{c:>6}" for c in range(10)))
    for t, row in enumerate(rep.confusion):
        print(f"{t:>5}" + "".join(f"{v:>6}" for v in row))
    print(f"most confident of the {len(rep.mistakes)} mistakes:")
    for m in rep.mistake_rows(data.y_test, MISTAKES_SHOWN):
        print(
            f"  test #{m['index']}: a {m['true']} read as {m['predicted']} "
            f"({m['confidence']:.1%} sure)"
        )
    return 0


def unlike_flags(inputs) -> list:
    """For each (28, 28) input: does it look unlike a digit (None without the detector)?"""
    from mnist_demo.drawing.unlike import shipped_detector
    from mnist_demo.errors import MnistDemoError

    try:
        return [bool(f) for f in shipped_detector().flags(inputs)]
    except MnistDemoError as e:
        print(f"warning: no 'unlike a digit' check: {e}", file=sys.stderr)
        return [None] * len(inputs)


def calibrate_unlike(args, argv) -> int:
    import_tensorflow_quietly()
    from mnist_demo.drawing import unlike

    t = time.perf_counter()
    root = weights_root()
    data = load_mnist(args.data)
    cnn, mlp = load_model("cnn", root), load_model("mlp", root)
    inked = unlike.inked(data.x_train[-unlike.INKED :])
    arrays = unlike.fit(cnn, mlp, data, inked)
    for kind in ("cnn", "mlp"):  # the networks it fits: a retrained one needs a new calibration
        arrays[f"{kind}_sha256"] = sha256_file(root / f"{kind}.keras")
    record = {
        "command": shlex.join(["python", "-m", "mnist_demo", *argv]),
        "seconds": round(time.perf_counter() - t, 1),
        "signals": list(unlike.SIGNALS),
        "false_alarms": unlike.FALSE_ALARMS,
        "alpha": arrays["alpha"],
        "calibrated_on": f"the last {unlike.CALIBRATION} MNIST training digits and "
        f"{unlike.INKED} inked copies of them",
        "machine": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
    }
    unlike.save(arrays, root / unlike.FILE, record)
    print(f"wrote {unlike.FILE}: level {arrays['alpha']:.5f} ({record['seconds']} s)")
    return 0
