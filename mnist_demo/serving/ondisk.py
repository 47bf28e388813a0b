"""MNIST's arrays as files a training process maps into memory (worker.py), written once per
dataset and removed with it; a killed server's are removed by the next one that writes its own."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path

import numpy as np

from mnist_demo.data import Mnist

_ON_DISK: dict[int, dict] = {}  # id(data) -> its files, while the data lives
_ON_DISK_LOCK = threading.Lock()
ARRAYS = ("x_train", "y_train", "x_test", "y_test")
DATA_PREFIX = "mnist-studio-data-"  # then the server's process id: tempfile's folder name


def on_disk(data: Mnist) -> dict:
    """The data's arrays as .npy files the child maps into memory, written once per dataset.

    Sending the arrays themselves through the pipe pickled 55 MB in the server at every training,
    and the server's memory grew with each (allocations the size of MNIST's pieces fragment the
    heap). The files go when the data goes, or when the server ends."""
    with _ON_DISK_LOCK:
        if id(data) not in _ON_DISK:
            _sweep_orphans()
            folder = tempfile.mkdtemp(prefix=f"{DATA_PREFIX}{os.getpid()}-")
            files = {"source": data.source}
            for name in ARRAYS:
                files[name] = os.path.join(folder, f"{name}.npy")
                np.save(files[name], getattr(data, name))
            weakref.finalize(data, _forget, id(data), folder)
            _ON_DISK[id(data)] = files
        return _ON_DISK[id(data)]


def _sweep_orphans() -> None:
    """Remove the data folders of servers that ended without removing theirs (killed: no
    finalizer ran), so that 55 MB do not stay behind in the temporary folder at each kill."""
    for folder in Path(tempfile.gettempdir()).glob(f"{DATA_PREFIX}*-*"):
        pid = folder.name[len(DATA_PREFIX) :].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _forget(key: int, folder: str) -> None:
    with _ON_DISK_LOCK:
        _ON_DISK.pop(key, None)
    shutil.rmtree(folder, ignore_errors=True)


def from_disk(files: dict) -> Mnist:
    arrays = {name: np.load(files[name], mmap_mode="r") for name in ARRAYS}
    return Mnist(**arrays, source=files["source"])
