"""python -m mnist_demo: see cli.py."""

import sys

from mnist_demo.cli import main

sys.exit(main())
