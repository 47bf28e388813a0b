"""Where a training runs: in a child process of its own (the default) or in a thread.

A training in the server's own process leaves 35-75 MB behind each time (graphs, datasets and
kernels TensorFlow keeps for good; measured by benchmarks/soak.py), so that a class pressing Train
and Stop would exhaust the server. In a spawned child all of it goes when the child ends, a crash
there cannot take the server down. The child streams the engine's events back and returns the
trained weights.

Both implement the runner protocol (runner.py): Event messages, then a Result or Failed.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterator
from multiprocessing.connection import Connection

import numpy as np

from mnist_demo import settings
from mnist_demo.data import Mnist
from mnist_demo.serving.runner import (
    POLL_S,
    STOP,
    Event,
    Failed,
    Message,
    StopsOnce,
    received,
    run_training,
)
from mnist_demo.serving.warm import REWARM_AFTER_S, prewarm, rehearse, running, spawn, take_warm
from mnist_demo.training.control import Control
from mnist_demo.training.recipes import Recipe


class ProcessRun(StopsOnce):
    """One training in a child process: `python -m mnist_demo.serving.worker`, which imports only what
    training needs (multiprocessing's spawn would rerun the server's main script there); the one
    kept waiting (prewarm) when there is one, else a fresh one."""

    def __init__(self, recipe: Recipe, data: Mnist, max_steps: int | None = None, start=None):
        self._proc, self._conn = take_warm() or spawn()
        running(+1)
        self._kind = recipe.model
        self._send_lock = threading.Lock()  # the job's thread and the page's both send
        self._conn.send((recipe, _on_disk(data), max_steps, start))

    @property
    def pid(self) -> int:
        return self._proc.pid

    def tell(self, command: tuple) -> None:
        """A command for the training (control.Control.apply): pause, resume, a rate, a drawing."""
        try:
            with self._send_lock:
                self._conn.send(command)
        except OSError:  # the child has ended already
            pass

    def messages(self) -> Iterator[Message | None]:
        from mnist_demo.nets.models import build_model

        # The network that receives the trained weights, built while the child starts: building
        # it at the end held a stopped training's end back by 0.1-0.15 s.
        skeleton = build_model(self._kind)
        try:
            while True:
                if not self._conn.poll(POLL_S):
                    yield None
                    continue
                try:
                    message = self._conn.recv()
                except (EOFError, OSError):  # ended without a word: killed, out of memory, a crash
                    code = self._proc.wait()
                    yield Failed(f"the training process ended (exit code {code})")
                    return
                yield received(message, skeleton)
                if not isinstance(message, Event):
                    return
        finally:
            self._conn.close()  # the child sees the end of its connection and stops
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            running(-1)
            prewarm(REWARM_AFTER_S)  # the next training's process, once this one's end is shown


class ThreadRun:
    """One training in a thread of this process (tests, and where processes cannot be spawned)."""

    def __init__(self, recipe: Recipe, data: Mnist, max_steps: int | None = None, start=None):
        self._control = Control()
        self._queue: queue.Queue = queue.Queue()
        args = (self._queue.put, self._control, start or recipe, data, max_steps)
        threading.Thread(
            target=run_training, args=args, name=f"train-{recipe.model}", daemon=True
        ).start()

    def stop(self) -> None:
        self._control.apply(STOP)

    def tell(self, command: tuple) -> None:
        self._control.apply(command)

    def messages(self) -> Iterator[Message | None]:
        while True:
            try:
                message = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                yield None
                continue
            yield message
            if not isinstance(message, Event):
                return


def _child(fd: int) -> None:
    """The child's side: read the work, train, send events and the result; stop when asked or
    when the job's end of the connection closes (the server went away)."""
    conn = Connection(fd)
    from mnist_demo.tfimport import import_tensorflow_quietly

    import_tensorflow_quietly()
    rehearse()
    try:
        recipe, files, max_steps, start = conn.recv()
    except (EOFError, OSError):  # the server went away before anyone pressed Train
        return
    if nice := settings.TRAINING_NICE.get():
        os.nice(nice)
    data = _from_disk(files)
    control = Control()
    threading.Thread(target=_listen, args=(conn, control), daemon=True).start()
    try:
        run_training(conn.send, control, start or recipe, data, max_steps, plain=True)
    except OSError:  # the job is gone: nobody to send to
        pass
    # All sent. The interpreter's exit took 12-30 s, and the next kept-warm process waits for it.
    sys.stdout.flush(), sys.stderr.flush()
    os._exit(0)


_ON_DISK: dict[int, dict] = {}  # id(data) -> its files, while the data lives
_ON_DISK_LOCK = threading.Lock()
ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def _on_disk(data: Mnist) -> dict:
    """The data's arrays as .npy files the child maps into memory, written once per dataset.

    Sending the arrays themselves through the pipe pickled 55 MB in the server at every training,
    and the server's memory grew with each (allocations the size of MNIST's pieces fragment the
    heap). The files go when the data goes, or when the server ends."""
    with _ON_DISK_LOCK:
        if id(data) not in _ON_DISK:
            folder = tempfile.mkdtemp(prefix="mnist-studio-data-")
            files = {"source": data.source}
            for name in ARRAYS:
                files[name] = os.path.join(folder, f"{name}.npy")
                np.save(files[name], getattr(data, name))
            weakref.finalize(data, _forget, id(data), folder)
            _ON_DISK[id(data)] = files
        return _ON_DISK[id(data)]


def _forget(key: int, folder: str) -> None:
    with _ON_DISK_LOCK:
        _ON_DISK.pop(key, None)
    shutil.rmtree(folder, ignore_errors=True)


def _from_disk(files: dict) -> Mnist:
    arrays = {name: np.load(files[name], mmap_mode="r") for name in ARRAYS}
    return Mnist(**arrays, source=files["source"])


def _listen(conn: Connection, control: Control) -> None:
    """The job's commands, until it says stop or its end of the connection closes."""
    try:
        while True:
            command = conn.recv()
            control.apply(command)
            if command == STOP:
                return
    except (EOFError, OSError):
        control.apply(STOP)


if __name__ == "__main__":
    _child(int(sys.argv[1]))
