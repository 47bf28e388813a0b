"""The server's training slots: at most `capacity` trainings at once, the others wait in line,
first come, first served."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from mnist_demo.serving.worker import POLL_S


class TrainingSlots:
    """At most `capacity` trainings at once across every session; the rest wait in line."""

    def __init__(self, capacity: int = 1):
        self.capacity = max(1, capacity)
        self._cond = threading.Condition()
        self._running: list[object] = []
        self._line: deque[object] = deque()

    def acquire(self, job: object, give_up: Callable[[], bool]) -> bool:
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

    def try_acquire(self, job: object) -> bool:
        """A free slot for `job` now, if no one is in line: True; else False (acquire waits)."""
        with self._cond:
            if self._line or len(self._running) >= self.capacity:
                return False
            self._running.append(job)
            return True

    def release(self, job: object) -> None:
        with self._cond:
            if job in self._running:
                self._running.remove(job)
            self._cond.notify_all()

    def running(self) -> list[object]:
        with self._cond:
            return list(self._running)

    def waiting(self) -> list[object]:
        """The jobs in line, first first."""
        with self._cond:
            return list(self._line)

    def place(self, job: object) -> int:
        """1 when `job` is next in line, 2 behind one other...; 0 when it is not waiting."""
        with self._cond:
            return self._line.index(job) + 1 if job in self._line else 0

    def busy(self) -> bool:
        with self._cond:
            return len(self._running) >= self.capacity or bool(self._line)
