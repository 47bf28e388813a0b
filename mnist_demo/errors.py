"""The project's own exceptions: errors a user can cause, each with a message that says what to do."""


class MnistDemoError(Exception):
    """Base class: the CLI prints it as one line, the app shows it in place. `key` and
    `values` name the message for a page that speaks another language (its catalogue key under
    "errors", and the values it fills in); the message itself stays English."""

    def __init__(self, message: str = "", *, key: str | None = None, **values):
        super().__init__(message)
        self.key, self.values = key, values


class DataError(MnistDemoError):
    """MNIST could not be found, downloaded, read or validated."""


class ModelFileError(MnistDemoError):
    """A saved model is missing, truncated, corrupt, tampered with or not a .keras file."""


class DrawingError(MnistDemoError):
    """A drawing or picture cannot be turned into a model input (unreadable, blank, too large)."""


class BlankDrawing(DrawingError):
    """No ink: nothing to read (an empty canvas, a blank picture)."""


class UnknownModelError(MnistDemoError, ValueError):
    """A model or recipe name that does not exist."""


class ShippedModelError(MnistDemoError):
    """A save would overwrite one of the shipped models without being told to."""


class SaveRefused(MnistDemoError):
    """A save that would replace someone else's model, or go past the server's limits."""

    def __init__(self, message: str, suggestion: str | None = None, **kw):
        super().__init__(message, **kw)
        self.suggestion = suggestion  # a free name to save under instead, when there is one


class TrainingDiverged(MnistDemoError):
    """The loss stopped being a number: the learning rate is too high for this network."""


def first_line(e: BaseException) -> str:
    """The first non-blank line of an exception's message (its type's name when it has none):
    third-party errors can run to pages, and a user is shown one line."""
    lines = [line for line in str(e).splitlines() if line.strip()]
    return lines[0].strip() if lines else type(e).__name__
