"""Where a training runs: in a child process of its own (the default) or in a thread.

A training in the server's own process leaves 35-75 MB behind each time (graphs, datasets and
kernels TensorFlow keeps for good; measured by benchmarks/soak.py), so that a class pressing Train
and Stop would exhaust the server. In a spawned child all of it goes when the child ends, a crash
there cannot take the server down, and the child runs at a lower priority than the page: a stroke
is answered first. The child streams the engine's events back and returns the trained weights.

Both runners yield the same messages: ("event", dict), then ("result", TrainResult) or
("error", message); and None every POLL_S while there is none, so that the caller can act on
a stop request or a time limit.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import threading
from collections.abc import Iterator

from mnist_demo.data import Mnist
from mnist_demo.errors import MnistDemoError, first_line
from mnist_demo.recipes import Recipe
from mnist_demo.result import TrainResult

NICE = 10  # the child's priority below the server's: drawing and predicting come first
POLL_S = 0.25  # how often a waiting runner looks at its stop request


class ProcessRun:
    """One training in a spawned child process."""

    def __init__(self, recipe: Recipe, data: Mnist, max_steps: int | None = None):
        ctx = mp.get_context("spawn")  # never fork a process that runs TensorFlow threads
        self._stop = ctx.Event()
        self._conn, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(
            target=_child,
            args=(send, self._stop, recipe, data, max_steps),
            name=f"train-{recipe.model}",
            daemon=True,
        )
        self._proc.start()
        send.close()  # the child holds the only sending end: EOF once it is gone

    def stop(self) -> None:
        self._stop.set()

    def messages(self) -> Iterator[tuple]:
        try:
            while True:
                if not self._conn.poll(POLL_S):
                    yield None
                    continue
                try:
                    message = self._conn.recv()
                except EOFError:  # ended without a word: killed, out of memory, a crash
                    self._proc.join()
                    yield "error", f"the training process ended (exit code {self._proc.exitcode})"
                    return
                if message[0] == "result":
                    message = ("result", _rebuild(message[1]))
                yield message
                if message[0] != "event":
                    return
        finally:
            self._conn.close()
            self._proc.join(30)
            if self._proc.is_alive():
                self._proc.kill()


class ThreadRun:
    """One training in a thread of this process (tests, and where processes cannot be spawned)."""

    def __init__(self, recipe: Recipe, data: Mnist, max_steps: int | None = None):
        self._stop = threading.Event()
        self._queue: queue.Queue = queue.Queue()
        args = (self._queue.put, self._stop, recipe, data, max_steps)
        threading.Thread(
            target=_train, args=args, name=f"train-{recipe.model}", daemon=True
        ).start()

    def stop(self) -> None:
        self._stop.set()

    def messages(self) -> Iterator[tuple]:
        while True:
            try:
                message = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                yield None
                continue
            yield message
            if message[0] != "event":
                return


def _child(conn, stop, recipe: Recipe, data: Mnist, max_steps: int | None) -> None:
    os.nice(NICE)
    from mnist_demo.tfimport import import_tensorflow_quietly

    import_tensorflow_quietly()
    try:
        _train(conn.send, stop, recipe, data, max_steps, portable=True)
    finally:
        conn.close()


def _train(send, stop, recipe: Recipe, data: Mnist, max_steps: int | None, portable=False) -> None:
    """Run the engine, sending each event, then the result or the error, through `send`."""
    from mnist_demo import training  # TensorFlow loads here: in the child, or off the page's thread

    try:
        result = training.train(
            recipe, data, subscribers=[lambda e: send(("event", e))], stop=stop, max_steps=max_steps
        )
        send(("result", _portable(result) if portable else result))
    except MnistDemoError as e:
        send(("error", str(e)))
    except Exception as e:  # a bug: log it where the server logs, and say what happened
        logging.getLogger(__name__).exception("training %s failed", recipe)
        send(("error", f"training failed: {type(e).__name__}: {first_line(e)}"))


def _portable(result: TrainResult) -> dict:
    """A TrainResult as plain data for the pipe: the model as its kind and weights."""
    fields = {k: v for k, v in vars(result).items() if k != "model"}
    return {**fields, "weights": result.model.get_weights()}


def _rebuild(fields: dict):
    from mnist_demo.models import build_model
    from mnist_demo.result import TrainResult

    weights = fields.pop("weights")
    model = build_model(fields["recipe"].model)
    model.set_weights(weights)
    return TrainResult(model=model, **fields)
