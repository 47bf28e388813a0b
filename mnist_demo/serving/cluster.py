"""Trainings on a Ray cluster, when one machine is not enough for a class.

With MNIST_STUDIO_RAY_ADDRESS set (`auto`, `ray://host:10001`, or `host:port` of a cluster's
head), every training runs as a Ray actor: the same engine as at home (runner.run_training), in a
process of the cluster, holding MNIST from Ray's object store. The actor keeps its messages
(metric events, then the result or the error) for the page to poll, takes commands (stop, pause,
a rate, a drawing) while it trains, and returns the trained weights; the server rebuilds the
model. Capacity is the cluster's CPUs, one training per MNIST_STUDIO_CPUS_PER_TRAINING of them.
Unset, nothing here is used and Ray need not be installed (requirements-cluster.txt).

RayRun implements the runner protocol (runner.py): stop(), tell(command), and messages(), which
yields Event messages, then a Result or Failed, and None every POLL_S while there is none.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref

from mnist_demo import settings
from mnist_demo.errors import MnistDemoError, first_line
from mnist_demo.serving.ondisk import ARRAYS
from mnist_demo.serving.runner import POLL_S, Event, Failed, StopsOnce, received, run_training
from mnist_demo.training.control import Control

ADDRESS_VAR, CPUS_VAR = settings.RAY_ADDRESS.name, settings.CPUS_PER_TRAINING.name
LOST = "the training worker was lost"
CALL_TIMEOUT_S = 60.0  # a poll that takes longer means the cluster is in trouble


def address() -> str | None:
    """The Ray cluster to train on, or None: train here (the default)."""
    return settings.RAY_ADDRESS.get()


def cpus_per_training() -> float:
    return settings.CPUS_PER_TRAINING.get()


def connect():
    """The `ray` module, connected to the cluster (once a process)."""
    try:
        import ray
    except ImportError:
        raise MnistDemoError(
            f"{ADDRESS_VAR} is set but Ray is not installed: pip install -r "
            "requirements-cluster.txt"
        ) from None
    if not ray.is_initialized():
        path = settings.child_env()["PYTHONPATH"]
        try:
            ray.init(
                address=address(),
                logging_level="WARNING",
                log_to_driver=False,
                runtime_env={"env_vars": {"PYTHONPATH": path}},
            )
        except Exception as e:  # no cluster there, a refused connection...
            raise MnistDemoError(
                f"cannot reach the Ray cluster at {address()}: {first_line(e)}"
            ) from e
    return ray


def cluster_size() -> tuple[int, float]:
    """(trainings at once, CPUs) of the cluster: one training per cpus_per_training() CPUs."""
    cpus = float(connect().cluster_resources().get("CPU", 0))
    return max(1, int(cpus // cpus_per_training())), cpus


class TrainingActor:
    """One training in a Ray worker process; run() trains, the other calls come meanwhile."""

    def __init__(self):
        self._messages: list = []
        self._lock = threading.Lock()
        self._control = Control()

    def run(self, recipe, arrays: dict, max_steps, start) -> None:
        from mnist_demo.data import Mnist
        from mnist_demo.tfimport import import_tensorflow_quietly

        import_tensorflow_quietly()
        data = Mnist(**arrays)
        run_training(self._put, self._control, start or recipe, data, max_steps, plain=True)

    def _put(self, message) -> None:
        with self._lock:
            self._messages.append(message)

    def since(self, n: int) -> list:
        """The messages from the n-th on (the caller has the first n)."""
        with self._lock:
            return self._messages[n:]

    def tell(self, command: tuple) -> None:
        self._control.apply(command)


@functools.cache
def _remote_actor():
    # Threads: run() holds one while since() and tell() answer in others.
    return connect().remote(max_concurrency=4)(TrainingActor)


_IN_STORE: dict[int, object] = {}  # id(data) -> its arrays in Ray's object store
_IN_STORE_LOCK = threading.Lock()


def _stored(data):
    """The data's arrays as one object in the cluster's store, put there once per dataset."""
    with _IN_STORE_LOCK:
        if id(data) not in _IN_STORE:
            arrays = {name: getattr(data, name) for name in ARRAYS}
            _IN_STORE[id(data)] = connect().put({**arrays, "source": data.source})
            weakref.finalize(data, _IN_STORE.pop, id(data), None)
        return _IN_STORE[id(data)]


class RayRun(StopsOnce):
    """One training as a Ray actor (see the module's docstring)."""

    def __init__(self, recipe, data, max_steps=None, start=None):
        ray = connect()
        self._ray, self._kind, self._seen = ray, recipe.model, 0
        self.actor = _remote_actor().options(num_cpus=cpus_per_training()).remote()
        self._done = self.actor.run.remote(recipe, _stored(data), max_steps, start)

    def tell(self, command: tuple) -> None:
        try:
            self.actor.tell.remote(command)
        except Exception:  # the actor is gone: messages() says so
            pass

    def messages(self):
        from mnist_demo.nets.models import build_model

        skeleton = build_model(self._kind)  # receives the weights, built while the actor starts
        try:
            while True:
                batch = self._poll()
                if isinstance(batch, str):
                    yield Failed(batch)
                    return
                if not batch:
                    if (ended := self._ended_silently()) is not None:
                        yield Failed(ended)
                        return
                    time.sleep(POLL_S)
                    yield None
                    continue
                for message in batch:
                    self._seen += 1
                    yield received(message, skeleton)
                    if not isinstance(message, Event):
                        return
        finally:
            try:
                self._ray.kill(self.actor)  # its process and its share of the cluster go
            except Exception:  # dead already, or Ray shut down meanwhile
                pass

    def _ended_silently(self) -> str | None:
        """Why the actor's run() ended with no word (a crash in the worker), or None."""
        ray = self._ray
        if not ray.wait([self._done], timeout=0)[0] or self._poll():  # running, or news came
            return None
        try:
            ray.get(self._done)
        except ray.exceptions.RayError as e:
            return f"{LOST} ({first_line(e)})"
        return f"{LOST}: it ended without a result"

    def _poll(self) -> list | str:
        """The actor's new messages, or why there will be none."""
        ray = self._ray
        try:
            return ray.get(self.actor.since.remote(self._seen), timeout=CALL_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            return f"{LOST}: it did not answer for {CALL_TIMEOUT_S:.0f} s"
        except ray.exceptions.RayError as e:  # killed, its node gone, out of memory
            return f"{LOST} ({type(e).__name__}); press Train to try again"
