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
from mnist_demo.events import PROGRESS, START, lr_factor_now, paused_now, seconds_left
from mnist_demo.memory import give_back_memory_soon
from mnist_demo.serving.runner import Event, Failed, Runner
from mnist_demo.serving.slots import TrainingSlots
from mnist_demo.serving.steering import (
    Limits,
    Steering,
    lr_command,
    runner_class,
)
from mnist_demo.training.recipes import Recipe
from mnist_demo.training.result import TrainResult

# A job's states: it waits for a slot, runs, and ends in one of the four FINISHED states.
WAITING, RUNNING = "waiting", "running"
DONE, STOPPED, FAILED, CANCELLED = FINISHED = ("done", "stopped", "failed", "cancelled")
ACTIVE = (WAITING, RUNNING)
log = logging.getLogger(__name__)
ISOLATE = True  # train in a child process (worker.ProcessRun); False: in a thread of this one


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
    stopping: bool = False  # a stop was asked for and the training has not ended yet
    paused: bool = False  # the events say it holds now
    pause_asked: bool = False  # the last command was Pause (it holds at the next step)
    lr_factor: float = 1.0  # the learning rate in effect (its last event's), times the recipe's
    running_since: float | None = None  # the clock time (time.time()) it got its slot


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
        start=None,  # a finetune.FineTune: fine-tune its network instead of training afresh
    ):
        self.recipe = recipe
        self._load_data, self._slots = load_data, slots
        self._max_steps, self._start = max_steps, start
        self._runner = runner_class(isolate, ISOLATE)
        self._steering, self._limits = Steering(), Limits(owner_alive, max_seconds)
        self._stop = threading.Event()
        self._ended = threading.Event()
        self._lock = threading.Lock()
        self._events: deque[dict] = deque(maxlen=history)
        self._state, self._error, self._result = WAITING, None, None
        self._stop_reason: str | None = None
        self._running_since: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"job-{recipe.model}", daemon=True)

    def start(self) -> TrainingJob:
        # A free slot is taken here: the page that pressed Train shows it running at once, not
        # queued for a moment (the queue "moving" then reran the whole page mid-start).
        self._acquired = self._slots.try_acquire(self)
        if self._acquired:
            self._set(RUNNING)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current batch (the model trained so far is kept), or leave the queue."""
        self._stop.set()
        self._steering.stop_now()

    def pause(self) -> None:
        """Hold the training between two steps; it keeps its slot (and its time limit runs)."""
        self._steering.tell("run", ("pause",))

    def resume(self) -> None:
        self._steering.tell("run", ("resume",))

    def step(self) -> None:
        """While paused: train to the next evaluation (curves and live panel) and hold again."""
        self._steering.nudge(("step",))

    def reset(self) -> None:
        """Start again from the run's first weights (its seed), paused if it was; its curves
        start again too (the new run's START clears the events)."""
        self._steering.nudge(("reset",))

    def set_lr_factor(self, factor: float) -> None:
        """The recipe's learning rate (or schedule) times `factor`, from the next step on."""
        self._steering.tell("lr", lr_command(factor))

    def set_drawing(self, drawing) -> None:
        """A (28, 28) float32 drawing for the training to read at each evaluation, or None."""
        self._steering.tell("drawing", ("drawing", drawing))

    def wait_end(self, timeout: float) -> bool:
        """True once the job has ended (its state one of FINISHED), waiting up to `timeout` s."""
        return self._ended.wait(timeout)

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def max_seconds(self) -> float | None:
        """This server's time limit for the training (its Limits hold it)."""
        return self._limits.max_seconds

    @max_seconds.setter
    def max_seconds(self, seconds: float | None) -> None:
        self._limits.max_seconds = seconds

    @property
    def runner(self) -> Runner | None:
        """The runner of this job's training, while it runs."""
        return self._steering.live

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
        left = [s for s in (seconds_left(last) if last else None, self._limits.seconds_left())]
        return min((s for s in left if s is not None), default=None)

    def view(self) -> JobView:
        with self._lock:
            state, events, error = self._state, list(self._events), self._error
            result, reason = self._result, self._stop_reason
        place, others_left = 0, None
        if state == WAITING:
            place = self._slots.place(self)
            lefts = [s for s in (j.seconds_left() for j in self._slots.running()) if s is not None]
            others_left = min(lefts) if lefts else None
        return JobView(
            state,
            self.recipe,
            events,
            error,
            result,
            place,
            others_left,
            reason,
            stopping=self._stop.is_set() and state in ACTIVE,
            paused=paused_now(events),
            pause_asked=self._steering.pause_asked(),
            lr_factor=lr_factor_now(events),
            running_since=self._running_since,
        )

    def _give_up(self) -> bool:
        return self._stop.is_set() or not self._limits.owner_alive()

    def _run(self) -> None:
        if not (self._acquired or self._slots.acquire(self, self._give_up)):
            self._set(CANCELLED)
            return
        try:
            self._set(RUNNING)
            self._limits.start()
            self._running_since = time.time()
            runner = self._runner(self.recipe, self._load_data(), self._max_steps, self._start)
            self._steering.attach(runner)
            self._follow(runner)
        except MnistDemoError as e:
            self._set(FAILED, str(e))
        except Exception as e:  # a bug: keep the server up, log it, say what happened
            log.exception("training %s failed", self.recipe)
            self._set(FAILED, f"training failed: {type(e).__name__}: {first_line(e)}")
        finally:
            self._steering.detach()
            self._slots.release(self)
            give_back_memory_soon()

    def _follow(self, runner: Runner) -> None:
        """Relay the runner's messages into this job, and stop it when it has to stop."""
        for message in runner.messages():
            self._check(runner)
            if isinstance(message, Event):
                with self._lock:
                    if message.event["kind"] == START:  # a reset starts the curves again
                        self._events.clear()
                    self._events.append(message.event)
            elif message is not None:
                # Ended: the slot is free from now, not once the child process has finished
                # exiting (a second or more, while the page said another training was running).
                self._slots.release(self)
                if isinstance(message, Failed):
                    self._set(FAILED, message.error)
                    continue
                result = message.result
                self._set(
                    STOPPED if self._stop.is_set() and result.stopped else DONE, result=result
                )

    def _check(self, runner: Runner) -> None:
        if (reason := self._limits.reason_to_stop()) is not None:
            self._stop_because(reason)
        if self._stop.is_set():
            runner.stop()

    def _stop_because(self, reason: str) -> None:
        with self._lock:
            if not self._stop.is_set():
                self._stop_reason = reason
                self._stop.set()

    def _set(self, state: str, error: str | None = None, result=None) -> None:
        with self._lock:
            self._state, self._error, self._result = state, error, result
        if state in FINISHED:
            self._ended.set()
