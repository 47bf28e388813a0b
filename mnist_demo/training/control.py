"""What a caller can do to a training while it runs: stop it, pause and resume it, step it while
paused (one evaluation stretch), reset it to its first weights, scale its learning rate, and show
it a drawing to read at every evaluation. Thread-safe, no TensorFlow."""

from __future__ import annotations

import math
import threading

import numpy as np


def checked_lr_factor(factor: float) -> float:
    """`factor` as a float, or ValueError unless it is a positive finite number."""
    if not (factor > 0 and math.isfinite(factor)):
        raise ValueError("the learning-rate factor must be a positive number")
    return float(factor)


class Control:
    def __init__(self, stop: threading.Event | None = None):
        self.stop = stop or threading.Event()  # ends the training after the current step
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._lock = threading.Lock()
        self._lr_factor = 1.0
        self._drawing: np.ndarray | None = None
        self._step = threading.Event()  # one evaluation stretch asked for while paused
        self._reset = threading.Event()  # back to the first weights asked for

    def pause(self) -> None:
        self._step.clear()  # a step asked for before this pause is not taken after it
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, poll_s: float = 0.05) -> bool:
        """Return when resumed, stopped, reset or stepped: True for a step (taken here)."""
        while not self._running.wait(poll_s):
            if self._step.is_set():
                self._step.clear()
                return True
            if self.stop.is_set() or self._reset.is_set():
                return False
        return False

    def step(self) -> None:
        """While paused: train one evaluation stretch, then hold again."""
        self._step.set()

    def reset(self) -> None:
        """Start the training again from its first weights, paused if it was."""
        self._step.clear()
        self._reset.set()

    @property
    def reset_asked(self) -> bool:
        return self._reset.is_set()

    def take_reset(self) -> bool:
        """Whether a reset was asked for (and it is taken now)."""
        asked = self._reset.is_set()
        self._reset.clear()
        return asked

    def set_lr_factor(self, factor: float) -> None:
        """The recipe's learning rate (its schedule, if it has one) times `factor` from the next
        step on."""
        factor = checked_lr_factor(factor)
        with self._lock:
            self._lr_factor = factor

    @property
    def lr_factor(self) -> float:
        with self._lock:
            return self._lr_factor

    def set_drawing(self, drawing: np.ndarray | None) -> None:
        """A (28, 28) float32 drawing in [0, 1] to read at every evaluation, or None."""
        with self._lock:
            self._drawing = None if drawing is None else np.asarray(drawing, np.float32).copy()

    @property
    def drawing(self) -> np.ndarray | None:
        with self._lock:
            return self._drawing

    def apply(self, message: tuple) -> None:
        """A command sent from another process: ("stop",), ("pause",), ("resume",), ("step",),
        ("reset",), ("lr", factor) or ("drawing", array or None)."""
        kind, *args = message
        if kind == "stop":
            self.stop.set()
            self._running.set()
        elif kind == "pause":
            self.pause()
        elif kind == "resume":
            self.resume()
        elif kind == "step":
            self.step()
        elif kind == "reset":
            self.reset()
        elif kind == "lr":
            self.set_lr_factor(args[0])
        elif kind == "drawing":
            self.set_drawing(args[0])
