"""Import TensorFlow without its start-up chatter on stderr (oneDNN and CUDA notices that
TF_CPP_MIN_LOG_LEVEL no longer silences), so that the CLI prints only what it means to."""

from __future__ import annotations

import os
import sys


def import_tensorflow_quietly() -> None:
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.constant(0)  # the CUDA probe logs on first use, not on import
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
