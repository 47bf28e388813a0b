"""A training process kept waiting for the next Train: TensorFlow imported, both networks built
and stepped once, so that a training's first curve point comes within seconds of the press.

The server starts one once its first page is painted (studio/state.py) and again a few seconds
after each training; a ProcessRun takes it when there is one, and spawns a fresh one otherwise.
MNIST_STUDIO_WARM_TRAINER=0 turns it off.
"""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

import numpy as np

from mnist_demo import settings
from mnist_demo.data import Mnist
from mnist_demo.serving.runner import NEXT

WARM = settings.WARM_TRAINER.get()
REWARM_AFTER_S = 3.0  # after a training: not while the page shows how it ended
MNIST_TRAIN = 60_000  # training images: a kept network matches a run on MNIST itself


def spawn() -> tuple[subprocess.Popen, Connection]:
    """A fresh training process: it imports TensorFlow and builds both networks, then waits."""
    conn, theirs = mp.Pipe()  # a socket pair: the job's end and the child's
    proc = subprocess.Popen(
        [sys.executable, "-m", "mnist_demo.serving.worker", str(theirs.fileno())],
        pass_fds=[theirs.fileno()],
        stdin=subprocess.DEVNULL,
        env=settings.child_env(),
    )
    theirs.close()
    return proc, conn


# At most one process kept waiting: (process, connection, trainings it has served).
_WARM: list[tuple[subprocess.Popen, Connection, int]] = []
_WARM_LOCK = threading.Lock()
_running = 0  # training processes running now


def prewarm(delay_s: float = 0.0) -> None:
    """Have a training process waiting (TensorFlow imported, both networks built and traced)
    for the next Train, so that its first curve point comes within seconds, not after start-up.
    `delay_s`: start it that much later (not while a page shows how a training ended)."""
    if WARM and delay_s > 0:
        timer = threading.Timer(delay_s, prewarm)
        timer.daemon = True
        timer.start()
        return
    with _WARM_LOCK:
        # Not beside a running training: TensorFlow's import would take its cores for seconds.
        # The one running starts the next when it ends.
        if WARM and not _running and not any(proc.poll() is None for proc, *_ in _WARM):
            _WARM.clear()
            _WARM.append((*spawn(), 0))


def running(change: int) -> None:
    """A training process started (+1) or ended (-1) in this server."""
    global _running
    with _WARM_LOCK:
        _running += change


def warm_pid() -> int | None:
    """The process id of the training process kept waiting, if there is one."""
    with _WARM_LOCK:
        return next((proc.pid for proc, *_ in _WARM if proc.poll() is None), None)


def take_warm() -> tuple[subprocess.Popen, Connection, int] | None:
    """The waiting training process, if one is alive, with the trainings it has served; None
    when there is none."""
    with _WARM_LOCK:
        while _WARM:
            proc, conn, served = _WARM.pop()
            if proc.poll() is None:
                return proc, conn, served
            conn.close()
    return None


def give_back(proc: subprocess.Popen, conn: Connection, served: int) -> bool:
    """A process whose training ended well waits for the next one, unless the warm trainer is
    off, one is waiting already or it has ended: False then, and the caller ends it."""
    with _WARM_LOCK:
        if not WARM or any(p.poll() is None for p, *_ in _WARM) or proc.poll() is not None:
            return False
        _WARM.clear()
        try:
            conn.send(NEXT)
        except OSError:
            return False
        _WARM.append((proc, conn, served))
        return True


def let_go() -> None:
    """End the process kept waiting, if there is one (it ends once its connection closes)."""
    with _WARM_LOCK:
        for _, conn, _ in _WARM:
            conn.close()
        _WARM.clear()


def rehearse(given: Callable[[], bool] = lambda: False) -> None:
    """Everything a first training does once per process, done before it is asked for: both
    networks built, compiled and stepped on blank images (Keras' and TensorFlow's lazy imports,
    oneDNN's kernels for these shapes), and kept traced for a class recipe's training
    (training/kept.py). The real training starts from fresh weights.

    `given()`: work has come. Then the rest is not rehearsed: the training traces what it needs
    and no more. A process spawned for a training that is waiting rehearses nothing (15 s of a
    core's time on 2 AVX2 cores, half of it for the other network)."""
    from mnist_demo.events import panel_indices
    from mnist_demo.training import engine as training
    from mnist_demo.training.recipes import RECIPES
    from mnist_demo.training.schedule import plan_steps

    blank, labels = np.zeros((2048, 28, 28), np.uint8), np.zeros(2048, np.uint8)
    tiny = Mnist(blank, labels, blank[:16], labels[:16], source="rehearsal")
    n_train = MNIST_TRAIN - len(panel_indices(MNIST_TRAIN))  # less the live panel's digits
    for kind in ("mlp", "cnn"):
        if given():
            return
        recipe = RECIPES[(kind, "class")]
        # One call's steps of a class run on MNIST: the step it traces is the one kept.
        steps = plan_steps(recipe, n_train).steps_per_execution
        training.train(recipe, tiny, max_steps=steps, keep=True)
