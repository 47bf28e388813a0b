"""python -m mnist_demo: see cli.py."""

import gc
import sys

from mnist_demo.cli.main import main

code = main()
# The interpreter's last garbage collection walks every TensorFlow and Keras object: up to 5 s
# after a CNN training, with nothing left to free. Frozen objects are left alone.
gc.freeze()
sys.exit(code)
