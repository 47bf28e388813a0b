"""The runner protocol: how a job drives one training, wherever it runs.

A runner (worker.ProcessRun, worker.ThreadRun, cluster.RayRun) starts its training when built.
`messages()` yields Event(event) for each of the engine's metric events, then one Result or
Failed, and None every POLL_S while there is nothing new, so that the caller can act on a stop
request or a time limit. `tell(command)` passes a command to the training (control.Control.apply:
pause, resume, a rate, a drawing); `stop()` ends it after its current step.

`run_training` is what every runner runs, in a child process, a thread or a Ray actor: the
engine, or a fine-tune (which goes through the engine too), sending each message as it comes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, runtime_checkable

from mnist_demo.errors import MnistDemoError, first_line

POLL_S = 0.25  # how often a waiting runner looks at its stop request


@dataclass(frozen=True)
class Event:
    event: dict  # one of events.py's metric events


@dataclass(frozen=True)
class Result:
    result: Any  # a TrainResult; on its way between processes, its fields with the weights


@dataclass(frozen=True)
class Failed:
    error: str  # what a person reads


Message = Event | Result | Failed
STOP = ("stop",)
NEXT = ("next",)  # a process's training is over: what comes next is for the next one


@runtime_checkable
class Runner(Protocol):
    def stop(self) -> None: ...

    def tell(self, command: tuple) -> None: ...

    def messages(self) -> Iterator[Message | None]: ...


class StopsOnce:
    """stop() sends one stop command through the runner's tell()."""

    _stopped = False

    def tell(self, command: tuple) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.tell(STOP)


def run_training(
    send: Callable[[Message], None], control, work, data, max_steps, plain=False, keep=False
):
    """Train by `work` (a Recipe, or a finetune.FineTune), sending each event, then the result
    (as plain fields and weights when `plain`: for a pipe or Ray) or why it failed. `keep`: the
    network stays traced for the next training of the same recipe (training/kept.py)."""
    from mnist_demo.training import engine, finetune  # TensorFlow loads here, off the page

    if isinstance(work, finetune.FineTune):
        run = finetune.finetune
    else:
        run = partial(engine.train, keep=keep)
    try:
        result = run(
            work, data, subscribers=[lambda e: send(Event(e))], control=control, max_steps=max_steps
        )
        send(Result(to_plain(result) if plain else result))
    except MnistDemoError as e:
        send(Failed(str(e)))
    except (BrokenPipeError, ConnectionResetError):
        raise  # the job is gone (the server stopped): nobody to tell
    except Exception as e:  # a bug: log it where the server logs, and say what happened
        logging.getLogger(__name__).exception("training %s failed", work)
        send(Failed(f"training failed: {type(e).__name__}: {first_line(e)}"))


def to_plain(result) -> dict:
    """A TrainResult as plain data for a pipe: the model as its weights."""
    fields = {k: v for k, v in vars(result).items() if k != "model"}
    return {**fields, "weights": result.model.get_weights()}


def received(message: Message, skeleton) -> Message:
    """A message from a training elsewhere as the job takes it: a result's weights go into
    `skeleton`, a network of its kind built while the training ran."""
    if not isinstance(message, Result):
        return message
    from mnist_demo.training.result import TrainResult

    fields = dict(message.result)
    skeleton.set_weights(fields.pop("weights"))
    return Result(TrainResult(model=skeleton, **fields))
