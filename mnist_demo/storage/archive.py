"""What a .keras archive holds, checked before anything opens it for real.

Its size once inflated and its compression ratio (a zip bomb is refused unread), its layers (no
Lambda, which would run code from the file, and nothing from outside Keras), the kind of network
they make, and the record of how it was trained: each field of the right type and range.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from mnist_demo import MODEL_KINDS
from mnist_demo.errors import ModelFileError, first_line
from mnist_demo.events import CURVE_FIELDS, CURVE_KINDS
from mnist_demo.storage.declared import check_declared

RECORD = "mnist_studio.json"  # the archive entry that says how the model was trained
# An archive is refused unread past these: the shipped CNN is 13 MB inflated, at a ratio of 1.1.
MAX_ENTRIES, MAX_INFLATED = 32, 256 << 20
MAX_RATIO, RATIO_FROM = 50, 1 << 20  # an entry over 1 MB that inflates more than 50-fold
MAX_CONFIG = 1 << 20  # config.json, the record, a sidecar
# Layers from Keras itself only, and no Lambda (it would run code from the file).
_KERAS_MODULE = re.compile(r"keras(\.|$)")
_FORBIDDEN = {"Lambda", "TFSMLayer"}


def inspect(path: Path) -> tuple[str, dict | None, str]:
    """(kind of network, the record inside or None, digest of the other entries) of a .keras
    archive; ModelFileError when it is not a zip, too large inflated, too compressed, corrupt
    (every entry is read: a bad CRC shows), or holds layers that are refused."""
    name = path.name
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            _check_sizes(name, infos)
            entries = {i.filename for i in infos}
            if "config.json" not in entries:
                raise ModelFileError(f"{name} is not a Keras model archive (no config.json)")
            config = _read_json(z, "config.json", name)
            kind = _kind_from_config(name, config)
            check_declared(name, config)  # before Keras allocates what it declares
            record = _read_json(z, RECORD, name) if RECORD in entries else None
            return kind, record, content_digest(z)
    except zipfile.BadZipFile as e:
        raise ModelFileError(f"{name} is truncated or corrupt ({first_line(e)})") from e
    except (OSError, EOFError, RuntimeError, NotImplementedError, ValueError, zlib.error) as e:
        raise ModelFileError(f"{name} is corrupt ({without_folder(e, path)})") from e


def _check_sizes(name: str, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_ENTRIES:
        raise ModelFileError(f"{name} holds {len(infos)} files: not a model archive")
    total = sum(i.file_size for i in infos)
    if total > MAX_INFLATED:
        raise ModelFileError(
            f"{name} would inflate to {total >> 20} MB: far larger than a model here"
        )
    for i in infos:
        if i.file_size > RATIO_FROM and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise ModelFileError(
                f"{name} is compressed {i.file_size / max(i.compress_size, 1):.0f}-fold in "
                f"{i.filename}: a zip bomb, not model weights"
            )


def _read_json(z: zipfile.ZipFile, entry: str, name: str):
    info = z.getinfo(entry)
    if info.file_size > MAX_CONFIG:
        raise ModelFileError(f"{name}: its {entry} is {info.file_size >> 10} KB, too large")
    try:
        data = json.loads(z.read(entry))
    except ValueError as e:
        raise ModelFileError(f"{name}: its {entry} is not readable JSON") from e
    if not isinstance(data, dict):
        raise ModelFileError(f"{name}: its {entry} does not hold a JSON object")
    return data


def _kind_from_config(name: str, config: dict) -> str:
    """'cnn' or 'mlp', from the layers in a Keras config; ModelFileError for a layer safe_mode
    would refuse (Lambda) or one from outside Keras, which no model here has."""
    classes = set()

    def walk(node):
        if isinstance(node, dict):
            if "class_name" in node and isinstance(node.get("class_name"), str):
                cls, module = node["class_name"], node.get("module")
                registered = node.get("registered_name")
                if cls in _FORBIDDEN:
                    raise ModelFileError(
                        f"{name} has a {cls} layer, which would run code from the file: refused"
                    )
                foreign = isinstance(registered, str) and registered not in (cls, f"keras>{cls}")
                if module is not None and (
                    not isinstance(module, str) or not _KERAS_MODULE.match(module) or foreign
                ):
                    raise ModelFileError(f"{name} has a layer unknown here ({str(cls)[:40]})")
                classes.add(cls)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(config)
    if "Conv2D" in classes:
        return "cnn"
    if "Dense" in classes:
        return "mlp"
    raise ModelFileError(f"{name} is neither a CNN nor an MLP (no Conv2D or Dense layer)")


# The record's fields a page or the CLI shows or uses, and what each must be.
def _number(lo: float, hi: float) -> Callable[[object], bool]:
    def ok(v):
        return (
            isinstance(v, int | float)
            and not isinstance(v, bool)
            and math.isfinite(v)
            and lo <= v <= hi
        )

    return ok


def _text(v) -> bool:
    return isinstance(v, str) and len(v) <= 1000


FIELDS = {
    "test_accuracy": _number(0, 1),
    "test_loss": _number(0, math.inf),
    "test_images": _number(0, 10**9),
    "train_images": _number(0, 10**9),
    "steps": _number(0, 10**12),
    "epochs": _number(0, 10**9),
    "train_seconds": _number(0, 10**9),
    "stopped_early": lambda v: isinstance(v, bool),
    "settings": lambda v: isinstance(v, dict),
    "curves": lambda v: _curves_ok(v),
    **{k: _text for k in ("recipe", "precision", "command", "name", "file", "saved_at")},
    **{k: _text for k in ("sha256", "content_sha256", "tensorflow", "keras")},
    "owner": lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None,
}


def _curves_ok(v) -> bool:
    """A run's curves (events.curves): step, eval, pause and rate points of finite numbers."""
    number = _number(-math.inf, math.inf)
    return (
        isinstance(v, list)
        and len(v) <= 20_000
        and all(
            isinstance(e, dict)
            and e.get("kind") in CURVE_KINDS
            and set(e) <= set(CURVE_FIELDS)
            and all(number(x) for k, x in e.items() if k != "kind")
            for e in v
        )
    )


def validated(name: str, meta: dict, kind: str) -> dict:
    """`meta` when every field it has is of the right type and range, and it names the kind of
    network the archive holds; otherwise ModelFileError naming the first bad field."""
    said = meta.get("model")
    if said not in MODEL_KINDS:
        raise ModelFileError(f"{name}: its record names no known kind of model")
    if said != kind:
        raise ModelFileError(
            f"{name}: its record says {said.upper()}, the file holds a {kind.upper()}"
        )
    for field, ok in FIELDS.items():
        if field in meta and meta[field] is not None and not ok(meta[field]):
            raise ModelFileError(f"{name}: its record's {field} is not valid")
    return meta


def read_sidecar(path: Path) -> dict | None:
    sidecar = path.with_suffix(".json")
    try:
        if sidecar.stat().st_size > MAX_CONFIG:
            raise ModelFileError(f"{sidecar.name} is too large to be a model's record")
        meta = json.loads(sidecar.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{sidecar.name} is not readable JSON") from e
    if not isinstance(meta, dict):
        raise ModelFileError(f"{sidecar.name} does not hold a JSON object")
    return meta


def content_digest(z: zipfile.ZipFile) -> str:
    """sha256 over the archive's entries but the record, in name order: what the record vouches
    for. Reading each entry in full also checks its CRC."""
    h = hashlib.sha256()
    for info in sorted(z.infolist(), key=lambda i: i.filename):
        if info.filename == RECORD:
            continue
        h.update(info.filename.encode() + b"\0")
        with z.open(info) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def without_folder(e: BaseException, path: Path) -> str:
    """An error's first line with the file's folder taken out of it."""
    return first_line(e).replace(str(path.parent) + os.sep, "").replace(str(path.parent), ".")
