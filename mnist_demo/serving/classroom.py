"""A class together on one server: a teacher's class, the students who joined it by its code,
the training they all watch, the model it made and the digits the students sent.

A ClassRoom is shared by every page in the class (the page keeps the server's rooms in a
Classes registry); each method takes its lock, so pages may call them from any thread. Nothing
here knows of Streamlit: a page tells the room who it is (an id it keeps) and when it looked.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from mnist_demo import settings
from mnist_demo.errors import MnistDemoError

CODE_LETTERS = "ACDEFHJKMNPRTUVWXY3479"  # no 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B: read off a projector
CODE_LENGTH = 5
HERE_S = 30.0  # a student whose page looked within this long is counted as here
ENDED, GONE = (
    "The teacher ended the class.",
    "The teacher's page has been gone for {:.0f} minutes: the class has ended.",
)


class ClassFull(MnistDemoError):
    """A digit the class cannot take: the message says why, for the student."""


@dataclass
class ClassDigit:
    id: int
    x: np.ndarray  # (28, 28) uint8: what the networks read of the drawing
    y: int  # the digit the student says it is
    by: str  # the sending page's id


@dataclass
class ClassRoom:
    code: str
    teacher: str  # the teacher's page id
    started: float = field(default_factory=time.monotonic)
    job: object | None = None  # the teacher's training (a TrainingJob) while the class watches it
    models: dict = field(default_factory=dict)  # kind -> the class's last TrainResult of that kind
    version: int = 0  # grows whenever a class model changes: pages pick the new one up
    versions: dict = field(default_factory=dict)  # kind -> the version its model came with
    allow_training: bool = False  # students may start their own trainings
    finetuned: tuple | None = (
        None  # (kind, its TrainResult): the last class fine-tune, for every page
    )
    ended: str | None = None  # why it ended, once it has
    away_s: float | None = None  # when it ended so: how long the teacher's page had been gone
    digits: list[ClassDigit] = field(default_factory=list)
    _seen: dict = field(default_factory=dict)  # student page id -> when it last looked
    _teacher_seen: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def looked(self, page: str) -> None:
        """A page of the class looked now (the teacher's keeps the class open)."""
        with self._lock:
            if page == self.teacher:
                self._teacher_seen = time.monotonic()
            else:
                self._seen[page] = time.monotonic()

    def here(self) -> int:
        """Students whose pages looked within HERE_S."""
        now = time.monotonic()
        with self._lock:
            return sum(now - t < HERE_S for t in self._seen.values())

    def joined(self) -> int:
        with self._lock:
            return len(self._seen)

    def teacher_gone_s(self) -> float:
        with self._lock:
            return time.monotonic() - self._teacher_seen

    def end(self, why: str = ENDED, away_s: float | None = None) -> None:
        with self._lock:
            if self.ended is None:
                self.ended, self.away_s, self.job = why, away_s, None

    def set_model(self, kind: str, result) -> None:
        """The class's model of `kind` is `result` from now (a training or fine-tune ended)."""
        with self._lock:
            if self.models.get(kind) is not result:
                self.models[kind] = result
                self.version += 1
                self.versions[kind] = self.version
                fine = result.extra.get("finetune") if result.extra else None
                if fine is not None:
                    self.finetuned = (kind, result)

    def send(self, page: str, x: np.ndarray, y: int) -> ClassDigit:
        """A student's digit for the class, or ClassFull with the reason."""
        x = np.asarray(x)
        if x.shape != (28, 28) or x.dtype != np.uint8 or not 0 <= int(y) <= 9:
            raise ValueError("a class digit is a (28, 28) uint8 picture and a digit 0-9")
        per_student = settings.CLASS_DIGITS_PER_STUDENT.get()
        with self._lock:
            if self.ended is not None:
                raise ClassFull(self.ended, key="class_ended")
            if len(self.digits) >= settings.CLASS_DIGITS.get():
                raise ClassFull(
                    f"The class has {len(self.digits)} digits, all it can keep.",
                    key="class_full",
                    n=len(self.digits),
                )
            if sum(d.by == page for d in self.digits) >= per_student:
                raise ClassFull(
                    f"You have sent {per_student} digits, as many as one student may.",
                    key="student_full",
                    n=per_student,
                )
            digit = ClassDigit(next(self._ids), x.copy(), int(y), page)
            self.digits.append(digit)
            return digit

    def remove(self, ident: int) -> None:
        with self._lock:
            self.digits = [d for d in self.digits if d.id != ident]

    def sent(self) -> list[ClassDigit]:
        with self._lock:
            return list(self.digits)


class Classes:
    """The server's classes by code. A class whose teacher's page has been gone for
    CLASS_TEACHER_GONE_S ends, and an ended class is forgotten an hour later."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rooms: dict[str, ClassRoom] = {}

    def start(self, teacher: str) -> ClassRoom:
        with self._lock:
            while (code := new_code()) in self._rooms:
                pass
            room = self._rooms[code] = ClassRoom(code, teacher)
            return room

    def get(self, code: str | None) -> ClassRoom | None:
        """The class of `code` (any case, spaces ignored), ended or not, or None."""
        self.sweep()
        key = "".join((code or "").split()).upper()
        with self._lock:
            return self._rooms.get(key)

    def sweep(self) -> None:
        gone_after = settings.CLASS_TEACHER_GONE_S.get()
        with self._lock:
            rooms = list(self._rooms.values())
        for room in rooms:
            away = room.teacher_gone_s()
            if room.ended is None and away >= gone_after:
                room.end(GONE.format(away / 60), away)
            elif room.ended is not None and away >= gone_after + 3600:
                with self._lock:
                    self._rooms.pop(room.code, None)


def new_code() -> str:
    return "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))
