"""Every environment variable the project reads, in one place: its name, type, default and meaning.

Each is read when asked (`SETTING.get()`), so that a test or a server's start-up can set it; a
value that does not parse raises a MnistDemoError naming the variable and what it expects.
`table()` is the Markdown table in docs/serving.md (a test keeps the two the same).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_demo.errors import MnistDemoError

ROOT = Path(__file__).resolve().parent.parent  # the project: weights/, saved/, and this package


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise ValueError(text)
        return value

    return parse


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError(text)
    return text == "1"


def _precision(text: str) -> str:
    if text not in ("auto", "float32", "mixed_bfloat16"):
        raise ValueError(text)
    return text


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None  # as it would be written in the environment; None: unset
    parse: Callable[[str], Any]
    expects: str  # what a valid value looks like, for the error and the table
    meaning: str

    def raw(self) -> str | None:
        """The variable as set, or None when it is unset or empty."""
        return os.environ.get(self.name) or None

    def get(self):
        text = self.raw() or self.default
        if text is None:
            return None
        try:
            return self.parse(text)
        except ValueError:
            raise MnistDemoError(f"{self.name} must be {self.expects}, not {text!r}") from None


MNIST_DATA = Setting(
    "MNIST_DATA",
    None,
    Path,
    "a path",
    "MNIST as an .npz in Keras' layout or a folder of the "
    "four IDX files; unset: Keras' download, cached in ~/.keras/datasets/",
)
PRECISION = Setting(
    "MNIST_STUDIO_PRECISION",
    "auto",
    _precision,
    "auto, float32 or mixed_bfloat16",
    "what `auto` trains in, server-wide; auto: mixed bfloat16 where the CPU has AMX or AVX-512 "
    "BF16, else float32",
)
ISA_CAP = Setting(
    "ONEDNN_MAX_CPU_ISA",
    None,
    lambda text: text.strip().upper(),
    "a oneDNN instruction set (AVX2, AVX512_CORE, ...)",
    "oneDNN's own cap on the instructions TensorFlow uses (a CPU with AMX measured as a 2-core "
    "AVX2 one); read here to know that bfloat16 is then not native: auto trains in float32",
)
WEIGHTS = Setting(
    "MNIST_STUDIO_WEIGHTS",
    None,
    Path,
    "a folder",
    "the shipped models' folder (and the CLI's "
    "default save folder); unset: weights/ beside the package",
)
SAVES = Setting(
    "MNIST_STUDIO_SAVES",
    None,
    Path,
    "a folder",
    "where the page's visitors save their models "
    "(share it between app servers); unset: saved/ beside the package",
)
MAX_TRAININGS = Setting(
    "MNIST_STUDIO_MAX_TRAININGS",
    "1",
    _positive(int),
    "a whole number >= 1",
    "trainings at once on this server; the others wait in line",
)
MAX_TRAIN_S = Setting(
    "MNIST_STUDIO_MAX_TRAIN_S",
    "600",
    _positive(float),
    "a number of seconds > 0",
    "one training's longest run: then it stops and keeps its model",
)
MAX_SAVED = Setting(
    "MNIST_STUDIO_MAX_SAVED",
    "50",
    _positive(int),
    "a whole number >= 1",
    "how many models the visitors may save, server-wide",
)
MAX_SAVED_MB = Setting(
    "MNIST_STUDIO_MAX_SAVED_MB",
    "1000",
    _positive(float),
    "a number of MB > 0",
    "how large the visitors' saved models may be, in all",
)
MAX_SAVED_PER_VISITOR = Setting(
    "MNIST_STUDIO_MAX_SAVED_PER_VISITOR",
    "5",
    _positive(int),
    "a whole number >= 1",
    "how many of those models one visitor (one browser) may keep",
)
MAX_SAVED_MB_PER_VISITOR = Setting(
    "MNIST_STUDIO_MAX_SAVED_MB_PER_VISITOR",
    "100",
    _positive(float),
    "a number of MB > 0",
    "how large one visitor's saved models may be, in all",
)
ADMIN = Setting(
    "MNIST_STUDIO_ADMIN",
    "0",
    _flag,
    "0 or 1",
    "1: every visitor may replace or delete any visitor's model (a keeper's server)",
)
WARM_TRAINER = Setting(
    "MNIST_STUDIO_WARM_TRAINER",
    "1",
    _flag,
    "0 or 1",
    "1: keep a training process started (TensorFlow imported, networks built) for the next Train",
)
TRAINING_NICE = Setting(
    "MNIST_STUDIO_TRAINING_NICE",
    "0",
    int,
    "a whole number (0-19)",
    "how far below the server a training process runs (nice); 0: at the server's priority",
)
RAY_ADDRESS = Setting(
    "MNIST_STUDIO_RAY_ADDRESS",
    None,
    str,
    "a Ray address (HOST:6379, auto, ray://HOST:10001)",
    "train on this Ray cluster instead of this server; unset: train here",
)
CPUS_PER_TRAINING = Setting(
    "MNIST_STUDIO_CPUS_PER_TRAINING",
    "2",
    _positive(float),
    "a number of CPUs > 0",
    "CPUs a training takes on the Ray cluster",
)
CLASS_DIGITS = Setting(
    "MNIST_STUDIO_CLASS_DIGITS",
    "400",
    _positive(int),
    "a whole number >= 1",
    "digits a class may collect, all its students together",
)
CLASS_DIGITS_PER_STUDENT = Setting(
    "MNIST_STUDIO_CLASS_DIGITS_PER_STUDENT",
    "30",
    _positive(int),
    "a whole number >= 1",
    "digits one student may send to their class",
)
CLASS_TEACHER_GONE_S = Setting(
    "MNIST_STUDIO_CLASS_TEACHER_GONE_S",
    "180",
    _positive(float),
    "a number of seconds > 0",
    "a class ends when its teacher's page has been gone this long",
)
ALL = (
    MNIST_DATA,
    PRECISION,
    ISA_CAP,
    WEIGHTS,
    SAVES,
    MAX_TRAININGS,
    MAX_TRAIN_S,
    MAX_SAVED,
    MAX_SAVED_MB,
    MAX_SAVED_PER_VISITOR,
    MAX_SAVED_MB_PER_VISITOR,
    ADMIN,
    WARM_TRAINER,
    TRAINING_NICE,
    RAY_ADDRESS,
    CPUS_PER_TRAINING,
    CLASS_DIGITS,
    CLASS_DIGITS_PER_STUDENT,
    CLASS_TEACHER_GONE_S,
)


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child that must import this package from anywhere."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}


def table() -> str:
    rows = [
        f"| `{s.name}` | {s.default if s.default is not None else '(unset)'} | {s.expects} "
        f"| {s.meaning} |"
        for s in ALL
    ]
    return "\n".join(
        ["| variable | default | value | meaning |", "| --- | --- | --- | --- |", *rows]
    )
