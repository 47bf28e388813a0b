"""Background trainings for an interactive front end: one job per user, a shared, fair slot limit.

A TrainingJob waits its turn for a slot, runs the engine through a runner (a child process by
default, see worker.py), keeps a bounded, lock-protected history of its metric events for a page
to poll, and stops when asked, when its owner goes away or when it reaches the time limit.
TrainingSlots caps how many jobs train at once and serves the others first come, first served.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from mnist_demo.data import Mnist
from mnist_demo.errors import MnistDemoError, first_line
from mnist_demo.events import PROGRESS, seconds_left
from mnist_demo.memory import give_back_memory
from mnist_demo.recipes import Recipe
from mnist_demo.result import TrainResult
from mnist_demo.worker import POLL_S, ProcessRun, ThreadRun

# A job's states: it waits for a slot, runs, and ends in one of the four FINISHED states.
WAITING, RUNNING = "waiting", "running"
DONE, STOPPED, FAILED, CANCELLED = FINISHED = ("done", "stopped", "failed", "cancelled")
ACTIVE = (WAITING, RUNNING)
# Why a training stopped before its schedule ended, when nobody pressed Stop.
TIME_LIMIT, OWNER_GONE = "time limit", "owner gone"
log = logging.getLogger(__name__)
OWNER_CHECK_S = 2.0  # how often a job asks whether the page that started it is still open
ISOLATE = True  # train in a child process (worker.ProcessRun); False: in a thread of this one


class TrainingSlots:
    """At most `capacity` trainings at once across every session; the rest wait in line."""

    def __init__(self, capacity: int = 1):
        self.capacity = max(1, capacity)
        self._cond = threading.Condition()
        self._running: list[TrainingJob] = []
        self._line: deque[TrainingJob] = deque()

    def acquire(self, job: TrainingJob, give_up: Callable[[], bool]) -> bool:
        """Wait in line until `job` is first and a slot is free (True), or until `give_up()`
        turns true (False)."""
        with self._cond:
            self._line.append(job)
            try:
                while self._line[0] is not job or len(self._running) >= self.capacity:
                    if give_up():
                        return False
                    self._cond.wait(POLL_S)
                self._running.append(job)
                return True
            finally:
                self._line.remove(job)
                self._cond.notify_all()

    def release(self, job: TrainingJob) -> None:
        with self._cond:
            if job in self._running:
                self._running.remove(job)
            self._cond.notify_all()

    def running(self) -> list[TrainingJob]:
        with self._cond:
            return list(self._running)

    def place(self, job: TrainingJob) -> int:
        """1 when `job` is next in line, 2 behind one other...; 0 when it is not waiting."""
        with self._cond:
            return self._line.index(job) + 1 if job in self._line else 0

    def busy(self) -> bool:
        with self._cond:
            return len(self._running) >= self.capacity or bool(self._line)


@dataclass(frozen=True)
class JobView:
    """A consistent snapshot of a job for one page refresh."""

    state: str
    recipe: Recipe
    events: list[dict]
    error: str | None
    result: TrainResult | None  # once finished
    place: int  # in the queue while waiting: 1 is next
    others_left_s: float | None  # while waiting: how long until the running training ends
    stop_reason: str | None  # TIME_LIMIT or OWNER_GONE when they ended it


class TrainingJob:
    def __init__(
        self,
        recipe: Recipe,
        load_data: Callable[[], Mnist],
        slots: TrainingSlots,
        *,
        owner_alive: Callable[[], bool] = lambda: True,
        max_steps: int | None = None,
        max_seconds: float | None = None,
        isolate: bool | None = None,  # None: ISOLATE
        history: int = 5_000,
    ):
        self.recipe, self.max_seconds = recipe, max_seconds
        self._load_data, self._slots, self._owner_alive = load_data, slots, owner_alive
        self._max_steps = max_steps
        self._runner = ProcessRun if (ISOLATE if isolate is None else isolate) else ThreadRun
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._events: deque[dict] = deque(maxlen=history)
        self._state, self._error, self._result = WAITING, None, None
        self._stop_reason: str | None = None
        self._started = self._last_owner_check = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"job-{recipe.model}", daemon=True)

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current batch (the model trained so far is kept), or leave the queue."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    def seconds_left(self) -> float | None:
        """How long this training has left at its rate so far, within its time limit."""
        with self._lock:
            last = next((e for e in reversed(self._events) if e["kind"] in PROGRESS), None)
        if self.state != RUNNING:
            return None
        left = [seconds_left(last)] if last else []
        if self.max_seconds:
            left.append(max(0.0, self.max_seconds - (time.monotonic() - self._started)))
        return min(left) if left else None

    def view(self) -> JobView:
        with self._lock:
            state, events, error = self._state, list(self._events), self._error
            result, reason = self._result, self._stop_reason
        place, others_left = 0, None
        if state == WAITING:
            place = self._slots.place(self)
            lefts = [s for s in (j.seconds_left() for j in self._slots.running()) if s is not None]
            others_left = min(lefts) if lefts else None
        return JobView(state, self.recipe, events, error, result, place, others_left, reason)

    def _give_up(self) -> bool:
        return self._stop.is_set() or not self._owner_alive()

    def _run(self) -> None:
        if not self._slots.acquire(self, self._give_up):
            self._set(CANCELLED)
            return
        try:
            self._set(RUNNING)
            self._started = time.monotonic()
            self._follow(self._runner(self.recipe, self._load_data(), self._max_steps))
        except MnistDemoError as e:
            self._set(FAILED, str(e))
        except Exception as e:  # a bug: keep the server up, log it, say what happened
            log.exception("training %s failed", self.recipe)
            self._set(FAILED, f"training failed: {type(e).__name__}: {first_line(e)}")
        finally:
            self._slots.release(self)
            give_back_memory()

    def _follow(self, runner) -> None:
        """Relay the runner's messages into this job, and stop it when it has to stop."""
        for message in runner.messages():
            self._check(runner)
            kind, payload = message or (None, None)
            if kind == "event":
                with self._lock:
                    self._events.append(payload)
            elif kind in ("error", "result"):
                # Ended: the slot is free from now, not once the child process has finished
                # exiting (a second or more, while the page said another training was running).
                self._slots.release(self)
                if kind == "error":
                    self._set(FAILED, payload)
                    continue
                with self._lock:
                    self._result = payload
                    self._state = STOPPED if self._stop.is_set() and payload.stopped else DONE

    def _check(self, runner) -> None:
        now = time.monotonic()
        if now - self._last_owner_check >= OWNER_CHECK_S:
            self._last_owner_check = now
            if not self._owner_alive():  # the tab was closed: free the slot and the CPU
                self._stop_because(OWNER_GONE)
        if self.max_seconds and now - self._started >= self.max_seconds:
            self._stop_because(TIME_LIMIT)
        if self._stop.is_set():
            runner.stop()

    def _stop_because(self, reason: str) -> None:
        with self._lock:
            if not self._stop.is_set():
                self._stop_reason = reason
                self._stop.set()

    def _set(self, state: str, error: str | None = None) -> None:
        with self._lock:
            self._state = state
            self._error = error
