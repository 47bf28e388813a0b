"""MNIST Studio: draw digits, train the two classic MNIST networks live, and see what they predict.

Importing the package is cheap; TensorFlow loads only when a module that needs it is imported.
"""

from mnist_demo.errors import (
    DataError,
    DrawingError,
    MnistDemoError,
    ModelFileError,
    TrainingBusyError,
    UnknownModelError,
)

__version__ = "1.0.0"
MODEL_NAMES = ("cnn", "mlp")  # here, not in models.py, so that naming them does not load Keras
__all__ = [
    "MODEL_NAMES",
    "DataError",
    "DrawingError",
    "MnistDemoError",
    "ModelFileError",
    "TrainingBusyError",
    "UnknownModelError",
]
