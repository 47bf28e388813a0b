"""Find, check, list and load models: checked archives, safe_mode loading.

A model is `NAME.keras`, weights only (no optimizer state). How it was trained travels inside the
archive (`mnist_studio.json`, with a digest of the archive's other entries), so that a save is a
single rename: a crash at any instant leaves the old model or the new one. `NAME.json` beside it
is a copy for people to read; models saved before the record moved into the archive (the shipped
ones among them) keep it as their record, with the archive's sha256 checked on every load.

Every archive is checked before it is opened: its size once inflated, its compression ratio, its
layers (no Lambda, nothing from outside Keras) and its record's fields. A model that fails any of
these is listed with the reason, and never loaded. Messages name files relative to their folder:
the server's paths are for its log, not for visitors.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from mnist_demo import MODEL_NAMES, settings
from mnist_demo.errors import ModelFileError, UnknownModelError
from mnist_demo.storage.archive import (
    inspect,
    read_sidecar,
    sha256_file,
    validated,
    without_folder,
)
from mnist_demo.storage.files import remove_if_abandoned
from mnist_demo.storage.names import sanitize_name

log = logging.getLogger(__name__)
WEIGHTS_DIR = settings.ROOT / "weights"
WEIGHTS_ENV = settings.WEIGHTS.name  # another folder of models, for a deployment or a test
SAVES_DIR = settings.ROOT / "saved"  # what the page's visitors save (git ignores it)
SHIPPED = MODEL_NAMES  # weights/cnn.keras and weights/mlp.keras: what the page answers with first
Folder = Path | str | None  # a folder of models; None: weights_root()'s


@dataclass(frozen=True)
class SavedModel:
    name: str
    path: Path
    meta: dict  # how it was trained, checked; {"model": kind} when nothing recorded it
    error: str | None = None  # why the model cannot be used, if it cannot

    @property
    def kind(self) -> str | None:
        return self.meta.get("model")

    @property
    def accuracy(self) -> float | None:
        return self.meta.get("test_accuracy")


def weights_root(weights_dir: Folder = None) -> Path:
    """The folder of saved models: the argument, else $MNIST_STUDIO_WEIGHTS, else weights/."""
    return Path(weights_dir or settings.WEIGHTS.get() or WEIGHTS_DIR)


def saves_root() -> Path:
    """The page's visitors save here, apart from the shipped models: $MNIST_STUDIO_SAVES, else
    saved/ (ignored by git)."""
    return settings.SAVES.get() or SAVES_DIR


def shipped_name(stem: str, weights_dir: Folder = None) -> str | None:
    """The shipped model `stem` names, in any case (`CNN` is `cnn` on a folder that ignores
    case); None when it names none."""
    names = {p.stem.casefold(): p.stem for p in weights_root(weights_dir).glob("*.keras")}
    names.update({n: n for n in SHIPPED})
    return names.get(stem.casefold())


def shown(path: str | os.PathLike) -> str:
    """A model file as messages name it: its name in its folder, never the server's full path."""
    return Path(path).name


def load_model(ref: str | os.PathLike, weights_dir: Folder = None):
    """Load a model by name (`cnn`, `mlp`, a saved name) or path, with Keras' safe_mode.

    The archive is checked first (see check_model). Raises ModelFileError with the reason for a
    missing, truncated, corrupt, oversized or tampered file."""
    path = resolve(ref, weights_dir)
    check_model(path)
    import keras  # deferred: listing models must not pay for TensorFlow's import

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # Keras raises many types for a bad archive or config
        log.warning("loading %s failed: %s", path, e)
        raise ModelFileError(f"{shown(path)} cannot be loaded: {without_folder(e, path)}") from e
    if not isinstance(model, keras.Model):
        raise ModelFileError(f"{shown(path)} does not hold a Keras model")
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


def read_meta(path: str | os.PathLike) -> dict:
    """How a model was trained: its checked record ({"model": kind} when none says), or
    ModelFileError with the reason it cannot be trusted."""
    return check_model(Path(path))


def list_models(weights_dir: Folder = None) -> list[SavedModel]:
    """Every .keras file in weights_dir, shipped models first; unusable ones carry their reason.
    Temp files of saves that were killed are removed on the way."""
    weights_dir = weights_root(weights_dir)
    if not weights_dir.is_dir():
        return []
    found = []
    for path in sorted(weights_dir.iterdir()):
        if path.name.startswith("."):
            remove_if_abandoned(path)
            continue
        if path.suffix != ".keras":
            continue
        try:
            found.append(SavedModel(path.stem, path, check_model(path)))
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


def check_model(path: Path) -> dict:
    """Check a .keras file without loading it and return its record; ModelFileError says what is
    wrong: not a regular file, a bad archive (archive.inspect), a record with wrong fields, or
    one that does not match the file."""
    name = shown(path)
    if path.suffix != ".keras":
        raise ModelFileError(f"{name} is not a .keras file (the only format loaded here)")
    try:
        st = path.stat()
    except OSError:
        raise ModelFileError(f"{name}: no such model file") from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelFileError(f"{name} is a directory, not a model file")
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(f"{name} is not a regular file")
    if st.st_size == 0:
        raise ModelFileError(f"{name} is empty (0 bytes)")
    kind, record, digest = inspect(path)
    if record is not None:
        if record.get("content_sha256") != digest:
            raise ModelFileError(f"{name} was changed after it was saved (its digest differs)")
        return validated(name, record, kind)
    sidecar = read_sidecar(path)
    if sidecar is None:
        return {"model": kind}  # a Keras model saved elsewhere: usable, its record unknown
    meta = validated(name, sidecar, kind)
    if "sha256" in meta and meta["sha256"] != sha256_file(path):
        raise ModelFileError(
            f"{name} does not match the sha256 in its sidecar: changed or damaged after saving"
        )
    return meta
