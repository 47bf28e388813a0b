"""Save, load and list models in weights/: atomic writes, a JSON sidecar, safe_mode loading.

A model is `NAME.keras` (weights only, no optimizer state) beside `NAME.json`, which records how
it was trained and the sha256 of the .keras file, checked again on every load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mnist_demo import MODEL_NAMES
from mnist_demo.errors import ModelFileError, ShippedModelError, UnknownModelError, first_line

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
WEIGHTS_ENV = "MNIST_STUDIO_WEIGHTS"  # another folder of models, for a deployment or a test
SHIPPED = MODEL_NAMES  # weights/cnn.keras and weights/mlp.keras: what the page answers with first
Folder = Path | str | None  # a folder of models; None: weights_root()'s
_NAME_OK = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SavedModel:
    name: str
    path: Path
    meta: dict  # the sidecar; {} when it is missing
    error: str | None = None  # why the model cannot be used, if it cannot

    @property
    def kind(self) -> str | None:
        return self.meta.get("model")

    @property
    def accuracy(self) -> float | None:
        return self.meta.get("test_accuracy")


def weights_root(weights_dir: Folder = None) -> Path:
    """The folder of saved models: the argument, else $MNIST_STUDIO_WEIGHTS, else weights/."""
    return Path(weights_dir or os.environ.get(WEIGHTS_ENV) or WEIGHTS_DIR)


def sanitize_name(name: str) -> str:
    """A file stem safe to join to weights/: letters, digits, '.', '_' and '-'; no path escapes."""
    stem = name.strip()
    if stem.endswith(".keras"):
        stem = stem[: -len(".keras")]
    stem = _NAME_OK.sub("-", stem).strip(".-")[:64]
    if not stem:
        raise UnknownModelError(f"{name!r} is not a usable model name: use letters and digits")
    return stem


def name_to_save(name: str, replace_shipped: bool = False) -> str:
    """The file stem a save under `name` writes; ShippedModelError for a shipped model's name
    unless `replace_shipped` (a caller can check before training rather than after)."""
    stem = sanitize_name(name)
    if stem in SHIPPED and not replace_shipped:
        raise ShippedModelError(f"{stem!r} is the name of a shipped model: choose another name")
    return stem


def save_model(
    model, name: str, meta: dict, weights_dir: Folder = None, *, replace_shipped: bool = False
) -> Path:
    """Write weights_dir/NAME.keras and NAME.json atomically; returns the .keras path.

    The model is saved without optimizer state. A crash mid-save leaves any previous file intact.
    The shipped models' names are refused unless `replace_shipped`."""
    stem = name_to_save(name, replace_shipped)
    weights_dir = weights_root(weights_dir)
    weights_dir.mkdir(parents=True, exist_ok=True)
    target = weights_dir / f"{stem}.keras"
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".keras", dir=weights_dir)
    os.close(fd)
    try:
        _without_optimizer(model).save(tmp)
        digest = sha256_file(tmp)
        sidecar = {
            **meta,
            "name": stem,
            "file": target.name,
            "sha256": digest,
            "saved_at": meta.get("saved_at")
            or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **_versions(),
        }
        _fsync(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is for everyone to read
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _write_text_atomic(weights_dir / f"{stem}.json", json.dumps(sidecar, indent=2) + "\n")
    return target


def load_model(ref: str | os.PathLike, weights_dir: Folder = None):
    """Load a model by name (`cnn`, `mlp`, a saved name) or path, with Keras' safe_mode.

    Checks the sha256 against the sidecar when there is one. Raises ModelFileError with the reason
    for a missing, truncated, corrupt or tampered file."""
    path = resolve(ref, weights_dir)
    _check_file(path)
    import keras  # deferred: listing models must not pay for TensorFlow's import

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # Keras raises many types for a bad archive or config
        raise ModelFileError(f"{path} cannot be loaded: {first_line(e)}") from e
    if not isinstance(model, keras.Model):
        raise ModelFileError(f"{path} does not hold a Keras model")
    return model


def model_path(ref: str | os.PathLike, weights_dir: Folder = None) -> Path:
    """`cnn` -> weights/cnn.keras; a path (anything with a slash or a suffix) stays a path."""
    text = str(ref)
    if _is_path(text):
        return Path(text).expanduser()
    return weights_root(weights_dir) / f"{sanitize_name(text)}.keras"


def _is_path(text: str) -> bool:
    return os.sep in text or "/" in text or bool(Path(text).suffix)


def resolve(ref: str | os.PathLike, weights_dir: Folder = None) -> Path:
    """The .keras file a name or path refers to; UnknownModelError for a name not saved."""
    path = model_path(ref, weights_dir)
    if not _is_path(text := str(ref)) and not path.exists():
        known = ", ".join(m.name for m in list_models(weights_dir)) or "none saved"
        raise UnknownModelError(
            f"unknown model {text!r}: choose one of {known}, or give a .keras path"
        )
    return path


def read_meta(path: Path) -> dict:
    """The sidecar of a .keras file, {} when there is none; ModelFileError when it is unreadable."""
    sidecar = Path(path).with_suffix(".json")
    if not sidecar.exists():
        return {}
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{sidecar} is not readable JSON ({first_line(e)})") from e
    if not isinstance(meta, dict):
        raise ModelFileError(f"{sidecar} does not hold a JSON object")
    return meta


def list_models(weights_dir: Folder = None) -> list[SavedModel]:
    """Every .keras file in weights_dir, shipped models first; unusable ones carry their reason."""
    weights_dir = weights_root(weights_dir)
    if not weights_dir.is_dir():
        return []
    found = []
    for path in sorted(weights_dir.glob("*.keras")):
        if path.name.startswith("."):
            continue  # a save in progress
        try:
            meta = read_meta(path)
            _check_file(path, meta)
            found.append(SavedModel(path.stem, path, meta))
        except ModelFileError as e:
            found.append(SavedModel(path.stem, path, {}, str(e)))
    return sorted(
        found,
        key=lambda m: (
            m.name not in SHIPPED,
            SHIPPED.index(m.name) if m.name in SHIPPED else 0,
            m.name,
        ),
    )


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_file(path: Path, meta: dict | None = None) -> None:
    if path.suffix != ".keras":
        raise ModelFileError(f"{path} is not a .keras file (the only format loaded here)")
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is truncated or corrupt (not a .keras zip archive)")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError) as e:
        raise ModelFileError(f"{path} is corrupt ({first_line(e)})") from e
    if bad is not None:
        raise ModelFileError(f"{path} is corrupt (bad checksum in {bad})")
    if "config.json" not in names:
        raise ModelFileError(f"{path} is not a Keras model archive (no config.json)")
    meta = read_meta(path) if meta is None else meta
    if meta.get("sha256") and meta["sha256"] != sha256_file(path):
        raise ModelFileError(
            f"{path} does not match the sha256 in its sidecar: changed or damaged after saving"
        )


def _without_optimizer(model):
    """Keras 3 saves a compiled model's optimizer state (twice the weights for Adam): save a copy."""
    if getattr(model, "optimizer", None) is None:
        return model
    clone = type(model).from_config(model.get_config())  # get_config leaves compile state out
    clone.set_weights(model.get_weights())
    return clone


def _versions() -> dict:
    import keras  # loaded already by whoever has a model to save; see load_model
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__}


def _fsync(path: str) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _write_text_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".json.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
