"""Training in the background for an interactive front end: one job per user, a shared slot limit.

A TrainingJob runs the training engine in a plain thread, keeps a bounded, lock-protected history
of its metric events for a page to poll, and stops when asked or when its owner goes away.
TrainingSlots caps how many jobs train at once on a small machine; the rest wait their turn.
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
from mnist_demo.recipes import Recipe

# A job's states: it waits for a slot, runs, and ends in one of the four FINISHED states.
WAITING, RUNNING = "waiting", "running"
DONE, STOPPED, FAILED, CANCELLED = FINISHED = ("done", "stopped", "failed", "cancelled")
ACTIVE = (WAITING, RUNNING)
log = logging.getLogger(__name__)
OWNER_CHECK_S = 2.0  # how often a job asks whether the page that started it is still open


class TrainingSlots:
    """At most `capacity` trainings at once across every session of the server."""

    def __init__(self, capacity: int = 1):
        self.capacity = max(1, capacity)
        self._cond = threading.Condition()
        self._running: list[TrainingJob] = []

    def acquire(self, job: TrainingJob, give_up: Callable[[], bool]) -> bool:
        """Block until a slot is free (True) or `give_up()` turns true (False)."""
        with self._cond:
            while len(self._running) >= self.capacity:
                if give_up():
                    return False
                self._cond.wait(0.1)
            self._running.append(job)
            return True

    def release(self, job: TrainingJob) -> None:
        with self._cond:
            if job in self._running:
                self._running.remove(job)
            self._cond.notify_all()

    def running(self) -> list[TrainingJob]:
        with self._cond:
            return list(self._running)

    def busy(self) -> bool:
        with self._cond:
            return len(self._running) >= self.capacity


@dataclass(frozen=True)
class JobView:
    """A consistent snapshot of a job for one page refresh."""

    state: str
    recipe: Recipe
    events: list[dict]
    error: str | None
    result: object | None  # training.TrainResult once finished
    queued_behind: int  # jobs training while this one waits


class TrainingJob:
    def __init__(
        self,
        recipe: Recipe,
        load_data: Callable[[], Mnist],
        slots: TrainingSlots,
        *,
        owner_alive: Callable[[], bool] = lambda: True,
        max_steps: int | None = None,
        history: int = 5_000,
    ):
        self.recipe = recipe
        self._load_data = load_data
        self._slots = slots
        self._owner_alive = owner_alive
        self._max_steps = max_steps
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._events: deque[dict] = deque(maxlen=history)
        self._state = WAITING
        self._error: str | None = None
        self._result = None
        self._last_owner_check = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"train-{recipe.model}", daemon=True)

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

    def view(self) -> JobView:
        with self._lock:
            state, events, error, result = (
                self._state,
                list(self._events),
                self._error,
                self._result,
            )
        behind = len(self._slots.running()) if state == WAITING else 0
        return JobView(state, self.recipe, events, error, result, behind)

    def _give_up(self) -> bool:
        return self._stop.is_set() or not self._owner_alive()

    def _run(self) -> None:
        from mnist_demo import training  # TensorFlow loads here, off the page's thread

        if not self._slots.acquire(self, self._give_up):
            self._set(CANCELLED)
            return
        try:
            self._set(RUNNING)
            data = self._load_data()
            result = training.train(
                self.recipe,
                data,
                subscribers=[self._on_event],
                stop=self._stop,
                max_steps=self._max_steps,
            )
            with self._lock:
                self._result = result
                self._state = STOPPED if self._stop.is_set() and result.stopped else DONE
        except MnistDemoError as e:
            self._set(FAILED, str(e))
        except Exception as e:  # a bug: keep the server up, log it, say what happened
            log.exception("training %s failed", self.recipe)
            self._set(FAILED, f"training failed: {type(e).__name__}: {first_line(e)}")
        finally:
            self._slots.release(self)

    def _on_event(self, event: dict) -> None:
        with self._lock:
            self._events.append(event)
        now = time.monotonic()
        if now - self._last_owner_check >= OWNER_CHECK_S:
            self._last_owner_check = now
            if not self._owner_alive():
                self._stop.set()  # the tab was closed: free the slot and the CPU

    def _set(self, state: str, error: str | None = None) -> None:
        with self._lock:
            self._state = state
            self._error = error
