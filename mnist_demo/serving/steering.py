"""A job's helpers, one job each: where its training runs, the commands a page sends it, and
when it must stop though nobody pressed Stop.

jobs.TrainingJob ties them together with its queue place (slots.py) and its state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mnist_demo.serving import cluster
from mnist_demo.serving.runner import Runner
from mnist_demo.serving.worker import ProcessRun, ThreadRun
from mnist_demo.training.control import checked_lr_factor

# Why a training stopped before its schedule ended, when nobody pressed Stop.
TIME_LIMIT, OWNER_GONE = "time limit", "owner gone"
OWNER_CHECK_S = 2.0  # how often a job asks whether the page that started it is still open


def runner_class(isolate: bool | None, default: bool) -> type[Runner]:
    """Where a training runs: a Ray actor when a cluster is set (and isolation not forced), a
    child process when isolated (`default` for None), else a thread of this process."""
    if isolate is None and cluster.address():
        return cluster.RayRun
    return ProcessRun if (default if isolate is None else isolate) else ThreadRun


def lr_command(factor: float) -> tuple:
    """The command that scales a training's learning rate (and schedule) by `factor`."""
    return ("lr", checked_lr_factor(factor))


class Steering:
    """The commands for one training: the last of each kind (pause or resume, rate, drawing) kept
    while it waits and passed on when its runner starts; passed on at once while it runs."""

    def __init__(self):
        self._lock = threading.Lock()
        self._told: dict[str, tuple] = {}
        self._live: Runner | None = None

    def tell(self, key: str, command: tuple) -> None:
        with self._lock:
            self._told[key] = command
            runner = self._live
        if runner is not None:
            runner.tell(command)

    def nudge(self, command: tuple) -> None:
        """A command for this moment only (Step, Reset): passed on if it runs, never kept."""
        with self._lock:
            runner = self._live
        if runner is not None:
            runner.tell(command)

    def attach(self, runner: Runner) -> None:
        with self._lock:
            self._live, told = runner, list(self._told.values())
        for command in told:  # what was asked for while it waited
            runner.tell(command)

    def detach(self) -> None:
        with self._lock:
            self._live = None

    @property
    def live(self) -> Runner | None:
        with self._lock:
            return self._live

    def stop_now(self) -> None:
        """Stop the running training now, not at the job thread's next look."""
        with self._lock:
            runner = self._live
        if runner is not None:
            runner.stop()

    def pause_asked(self) -> bool:
        with self._lock:
            return self._told.get("run", ("resume",))[0] == "pause"


class Limits:
    """When a running training must stop though nobody pressed Stop: the page that started it is
    gone (asked every OWNER_CHECK_S), or it has run `max_seconds`."""

    def __init__(self, owner_alive: Callable[[], bool], max_seconds: float | None):
        self.owner_alive, self.max_seconds = owner_alive, max_seconds
        self.started = self._last_owner_check = time.monotonic()

    def start(self) -> None:
        self.started = time.monotonic()

    def seconds_left(self) -> float | None:
        if not self.max_seconds:
            return None
        return max(0.0, self.max_seconds - (time.monotonic() - self.started))

    def reason_to_stop(self) -> str | None:
        now = time.monotonic()
        if now - self._last_owner_check >= OWNER_CHECK_S:
            self._last_owner_check = now
            if not self.owner_alive():  # the tab was closed: free the slot and the CPU
                return OWNER_GONE
        if self.max_seconds and now - self.started >= self.max_seconds:
            return TIME_LIMIT
        return None
