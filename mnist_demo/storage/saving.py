"""Saving models: one-rename saves, names nobody else has, deletes, and room on the server.

A save writes the model and its record (mnist_studio.json, see archive.py) into a locked temp
file, fsyncs it and renames it into place: a crash at any instant leaves the old model or the
new one, whole; a listing removes the temp files of saves that were killed. `NAME.json` beside it
is a copy of the record for people to read, written last; its loss costs nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import tempfile
import zipfile
from importlib import metadata as package_metadata
from pathlib import Path

from mnist_demo.errors import SaveRefused, ShippedModelError, UnknownModelError
from mnist_demo.storage.archive import RECORD, content_digest, sha256_file
from mnist_demo.storage.files import fsync, lock, write_text_atomic
from mnist_demo.storage.store import SHIPPED, Folder, sanitize_name, weights_root


def name_to_save(name: str, replace_shipped: bool = False) -> str:
    """The file stem a save under `name` writes; ShippedModelError for a shipped model's name
    unless `replace_shipped` (a caller can check before training rather than after)."""
    stem = sanitize_name(name)
    if stem.casefold() in SHIPPED and not replace_shipped:
        raise ShippedModelError(
            f"{stem!r} is the name of a shipped model: choose another name",
            key="shipped_name",
            stem=stem,
        )
    return stem


def free_name(stem: str, *folders: Folder) -> str:
    """`stem`, or `stem-2`, `stem-3`... : the first name no model in `folders` has."""
    taken = {p.stem for f in folders for p in weights_root(f).glob("*.keras")}
    if stem not in taken:
        return stem
    n = 2
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def unique_name(prefix: str) -> str:
    """A fresh name no other visitor will have chosen: `prefix-` and six random letters."""
    return f"{prefix}-{secrets.token_hex(3)}"


def _after(step: str) -> None:
    """Called between the steps of a save; tests make it kill the process there."""


def save_model(
    model,
    name: str,
    meta: dict,
    weights_dir: Folder = None,
    *,
    replace: bool = True,
    replace_shipped: bool = False,
) -> Path:
    """Write weights_dir/NAME.keras with its record inside, in one rename; returns its path.

    The model is saved without optimizer state. A crash at any point leaves the previous file, or
    the new one, whole. With `replace=False` a name already saved is refused (SaveRefused, with a
    free name to suggest), and two saves racing for a new name cannot both win. The shipped
    models' names are refused unless `replace_shipped`."""
    stem = name_to_save(name, replace_shipped)
    weights_dir = weights_root(weights_dir)
    weights_dir.mkdir(parents=True, exist_ok=True)
    target = weights_dir / f"{stem}.keras"
    if not replace and target.exists():
        raise _taken(stem, weights_dir)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".keras", dir=weights_dir)
    try:
        lock(fd)  # held until the end: a listing removes only temp files nobody holds
        _after("temp file")
        record = _write_archive(model, tmp, {**meta, "name": stem, "file": target.name})
        _put(tmp, target, replace)
        _after("rename")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    # The readable copy. Its loss costs nothing: the archive's record is the one read.
    copy = {**record, "sha256": sha256_file(target)}
    write_text_atomic(target.with_suffix(".json"), json.dumps(copy, indent=2) + "\n")
    _after("sidecar")
    return target


def _put(tmp: str, target: Path, replace: bool) -> None:
    """Rename `tmp` to `target`; when not replacing, never over a file that appeared meanwhile."""
    if replace:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # fails if the name is taken: two saves racing cannot both win
    except FileExistsError:
        raise _taken(target.stem, target.parent) from None
    os.unlink(tmp)


def _write_archive(model, tmp: str, meta: dict) -> dict:
    """The model saved to `tmp` with its record inside, on disk (fsynced); returns the record."""
    _without_optimizer(model).save(tmp)
    _after("archive")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    record = {**meta, "saved_at": meta.get("saved_at") or now, **_versions()}
    with zipfile.ZipFile(tmp) as z:
        record["content_sha256"] = content_digest(z)
    with zipfile.ZipFile(tmp, "a") as z:
        z.writestr(RECORD, json.dumps(record, indent=2))
    _after("record")
    fsync(tmp)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is for everyone to read
    _after("fsync")
    return record


def _taken(stem: str, folder: Path) -> SaveRefused:
    other = free_name(stem, folder)
    return SaveRefused(f"a model named {stem!r} exists already: save as {other!r}?", other)


def delete_model(name: str, weights_dir: Folder = None) -> None:
    """Remove NAME.keras and its sidecar; UnknownModelError when there is no such model."""
    target = weights_root(weights_dir) / f"{sanitize_name(name)}.keras"
    try:
        target.unlink()
    except FileNotFoundError:
        raise UnknownModelError(f"there is no model named {target.stem!r}") from None
    target.with_suffix(".json").unlink(missing_ok=True)


def check_room(folder: Folder, need_bytes: int, max_models: int, max_mb: float) -> None:
    """SaveRefused unless `folder` can take one more model of `need_bytes`: fewer than
    `max_models` there, their total within `max_mb`, and the disk with room to spare."""
    folder = weights_root(folder)
    files = [p for p in folder.glob("*.keras") if not p.name.startswith(".")]
    if len(files) >= max_models:
        raise SaveRefused(
            f"this server keeps at most {max_models} saved models: delete one of yours first",
            key="server_full",
            n=max_models,
        )
    used = _bytes(files)
    if used + need_bytes > max_mb * 2**20:
        raise SaveRefused(
            f"saved models take {used / 2**20:.0f} MB of this server's {max_mb:.0f} MB: "
            "delete one of yours first",
            key="server_mb",
            used=used / 2**20,
            max_mb=max_mb,
        )
    probe = folder if folder.exists() else folder.parent
    free = shutil.disk_usage(probe).free
    if free < 2 * need_bytes + (64 << 20):
        raise SaveRefused(
            f"the server's disk is full ({free >> 20} MB free): nothing was saved",
            key="disk_full",
            free=free >> 20,
        )


def check_share(mine: list[Path], need_bytes: int, max_models: int, max_mb: float) -> None:
    """SaveRefused unless one visitor, whose saved models are `mine`, may save one more of
    `need_bytes`: the visitors share the server, and none may fill it alone."""
    if len(mine) >= max_models:
        raise SaveRefused(
            f"you have saved {len(mine)} models, each visitor's share on this server: "
            "delete one of yours first",
            key="share_full",
            n=len(mine),
        )
    used = _bytes(mine)
    if used + need_bytes > max_mb * 2**20:
        raise SaveRefused(
            f"your saved models take {used / 2**20:.0f} MB of your {max_mb:.0f} MB share on "
            "this server: delete one of yours first",
            key="share_mb",
            used=used / 2**20,
            max_mb=max_mb,
        )


def _bytes(files: list[Path]) -> int:
    """What these model files take on disk (one deleted meanwhile takes nothing)."""
    return sum(p.stat().st_size for p in files if p.is_file())


def _without_optimizer(model):
    """Keras 3 saves a compiled model's optimizer state (twice the weights for Adam): save a copy."""
    if getattr(model, "optimizer", None) is None:
        return model
    clone = type(model).from_config(model.get_config())  # get_config leaves compile state out
    clone.set_weights(model.get_weights())
    return clone


def _versions() -> dict:
    found = {}
    for package in ("tensorflow", "keras"):
        with contextlib.suppress(package_metadata.PackageNotFoundError):
            found[package] = package_metadata.version(package)
    return found
