"""MNIST Studio: draw digits, train the two classic MNIST networks live, and see what they predict.

Importing the package is cheap; TensorFlow loads only when a module that needs it is imported.
"""

from mnist_demo.errors import (
    DataError,
    DrawingError,
    MnistDemoError,
    ModelFileError,
    SaveRefused,
    ShippedModelError,
    UnknownModelError,
)

__version__ = "1.0.0"
# The two networks, by name and as people see them named. Here, not in models.py, so that naming
# them does not load Keras; the shipped models in weights/ carry these names too.
MODEL_KINDS = {"cnn": "CNN", "mlp": "MLP"}
MODEL_NAMES = tuple(MODEL_KINDS)
__all__ = [
    "MODEL_KINDS",
    "MODEL_NAMES",
    "DataError",
    "DrawingError",
    "MnistDemoError",
    "ModelFileError",
    "SaveRefused",
    "ShippedModelError",
    "UnknownModelError",
]
