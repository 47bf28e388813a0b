"""Where a training runs: in a child process of its own (the default) or in a thread.

A training in the server's own process leaves 35-75 MB behind each time (graphs, datasets and
kernels TensorFlow keeps for good; measured by benchmarks/soak.py), so that a class pressing Train
and Stop would exhaust the server. In a spawned child all of it goes when the child ends, a crash
there cannot take the server down. The child streams the engine's events back and returns the
trained weights. A child that ended its training well waits for the next one, kept warm
(warm.py), up to REUSES trainings: its memory grows by at most that many trainings' leftovers,
and the next Train neither imports TensorFlow again nor traces the same recipe's step again.

Both implement the runner protocol (runner.py): Event messages, then a Result or Failed.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection

from mnist_demo import settings
from mnist_demo.data import Mnist
from mnist_demo.serving.ondisk import from_disk, on_disk
from mnist_demo.serving.runner import (
    NEXT,
    POLL_S,
    STOP,
    Event,
    Failed,
    Message,
    Result,
    StopsOnce,
    received,
    run_training,
)
from mnist_demo.serving.warm import (
    REWARM_AFTER_S,
    give_back,
    prewarm,
    rehearse,
    running,
    spawn,
    take_warm,
)
from mnist_demo.training.control import Control
from mnist_demo.training.recipes import Recipe

REUSES = 4  # trainings a process serves: its memory grows with each (35-75 MB)


class ProcessRun(StopsOnce):
    """One training in a child process: `python -m mnist_demo.serving.worker`, which imports only what
    training needs (multiprocessing's spawn would rerun the server's main script there); the one
    kept waiting (prewarm) when there is one, else a fresh one."""

    def __init__(self, recipe: Recipe, data: Mnist, max_steps: int | None = None, start=None):
        self._proc, self._conn, self._served = take_warm() or (*spawn(), 0)
        self._over = False  # its result is in: commands now would reach the next training
        running(+1)
        self._kind = recipe.model
        self._send_lock = threading.Lock()  # the job's thread and the page's both send
        self._conn.send((recipe, on_disk(data), max_steps, start))

    @property
    def pid(self) -> int:
        return self._proc.pid

    def tell(self, command: tuple) -> None:
        """A command for the training (control.Control.apply): pause, resume, a rate, a drawing."""
        try:
            with self._send_lock:
                if not self._over:
                    self._conn.send(command)
        except OSError:  # the child has ended already
            pass

    def messages(self) -> Iterator[Message | None]:
        from mnist_demo.nets.models import build_model

        # The network that receives the trained weights, built while the child starts: building
        # it at the end held a stopped training's end back by 0.1-0.15 s.
        skeleton = build_model(self._kind)
        message = None
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
            with self._send_lock:
                self._over = True
            if isinstance(message, Result) and self._served + 1 < REUSES:
                self._next()
            else:
                self._end()

    def _next(self) -> None:
        """Its training ended well: the process waits for the next one (or ends, when another
        is waiting already)."""
        running(-1)
        if not give_back(self._proc, self._conn, self._served + 1):
            self._end(counted=True)

    def _end(self, counted: bool = False) -> None:
        self._conn.close()  # the child sees the end of its connection and stops
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if not counted:
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
    """The child's side: read the work, train, send events and the result, then wait for the
    next work; stop when asked or when the job's end of the connection closes (the server went
    away, or wants no more of this process)."""
    conn = Connection(fd)
    from mnist_demo.tfimport import import_tensorflow_quietly

    import_tensorflow_quietly()
    rehearse(given=conn.poll)  # nothing, when the work is here already (not a warm process)
    inbox: queue.Queue = queue.Queue()
    control = [Control()]  # the current training's
    threading.Thread(target=_listen, args=(conn, inbox, control), daemon=True).start()
    if nice := settings.TRAINING_NICE.get():
        os.nice(nice)
    while (work := inbox.get()) is not None:
        recipe, files, max_steps, start = work
        data = from_disk(files)
        try:  # its network kept traced for the next training of the same recipe (kept.py)
            run_training(
                conn.send, control[0], start or recipe, data, max_steps, plain=True, keep=True
            )
        except OSError:  # the job is gone: nobody to send to
            break
    # All sent. The interpreter's exit took 12-30 s, and the next kept-warm process waits for it.
    sys.stdout.flush(), sys.stderr.flush()
    os._exit(0)


def _listen(conn: Connection, inbox: queue.Queue, control: list[Control]) -> None:
    """The job's messages, in order: work goes to the inbox, commands to the current training,
    NEXT starts a new training's control (after it, none of the last one's commands come);
    the end of the connection stops the training and the process."""
    try:
        while True:
            message = conn.recv()
            if message == NEXT:
                control[0] = Control()
            elif isinstance(message[0], str):
                control[0].apply(message)
            else:
                inbox.put(message)
    except (EOFError, OSError):
        control[0].apply(STOP)
        inbox.put(None)


if __name__ == "__main__":
    _child(int(sys.argv[1]))
