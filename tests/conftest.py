"""Shared fixtures. MNIST comes from $MNIST_DATA (CI points it at a local copy) or Keras' download."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mnist_demo.data import load_mnist
from mnist_demo.storage.store import load_model

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before any test module loads TensorFlow
# No training process kept waiting after each test's training (warm.prewarm): a test that
# wants one (and the app under e2e, which runs as people get it) says so.
os.environ.setdefault("MNIST_STUDIO_WARM_TRAINER", "0")


# The lanes: every test is in one, by where it lives (README and docs/testing.md say how to run
# them). `python -m pytest -m "not e2e and not cluster"` is the quick run.
LANES = {"e2e": "e2e", "app": "app", "serving": "serving"}
CLUSTER_FILES = ("test_cluster.py", "test_cluster_browser.py")


# Two workers (pytest-xdist, `-n 2 --dist loadgroup --no-loadscope-reorder` in pyproject.toml).
# The browser tests, Ray's and the time budgets' come first, as one group: one worker runs them
# one after the other at full priority. The other worker takes the rest a file at a time and
# yields the CPU to them (YIELDING), so that a stroke's answer or a curve point a browser waits
# for never waits on another test's training; its tests fill the time the browser tests leave
# idle. The first worker then takes files of the rest too, yielding as well: both are equals
# once no browser test is left.
YIELDING = 19  # os.nice increment: a share of ~1.5% of a core while the other worker needs both
FRONT = "browser"
WALL_CLOCK_FILES = ("test_budget.py",)  # trainings sized by the wall clock: never yielding


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    root = Path(__file__).parent
    for item in items:
        parts = Path(item.fspath).relative_to(root).parts
        lane = LANES.get(parts[0], "unit") if len(parts) > 1 else "unit"
        item.add_marker(lane)
        if parts[-1] in CLUSTER_FILES:
            item.add_marker("cluster")
        front = lane == "e2e" or parts[-1] in CLUSTER_FILES + WALL_CLOCK_FILES
        item.add_marker(pytest.mark.xdist_group(FRONT if front else "/".join(parts)))
    items.sort(key=lambda item: _group(item) != FRONT)  # stable: the first work unit is theirs


def _group(item) -> str:
    return item.get_closest_marker("xdist_group").args[0]


YIELDED: list[bool] = []  # this process lowered its priority (for good: os.nice only goes up)


def pytest_runtest_setup(item):
    if os.environ.get("PYTEST_XDIST_WORKER") and _group(item) != FRONT and not YIELDED:
        os.nice(YIELDING)  # the first worker has no browser test left when it gets here
        YIELDED.append(True)


@pytest.fixture(scope="session")
def mnist():
    return load_mnist()


@pytest.fixture(scope="session")
def small(mnist):
    """2,000 training and 500 test images: enough for a few steps to show learning."""
    return mnist.head(2000, 500)


@pytest.fixture(scope="session")
def mnist_path(mnist, tmp_path_factory) -> Path:
    """MNIST as an .npz file path, wherever the session's copy came from."""
    src = os.environ.get("MNIST_DATA")
    if src and Path(src).is_file():
        return Path(src)
    p = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez(
        p, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test
    )
    return p


@pytest.fixture(scope="session")
def shipped_cnn():
    return load_model("cnn")


@pytest.fixture(scope="session")
def shipped_mlp():
    return load_model("mlp")


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray cluster for every test that trains on one (started once: seconds each)."""
    ray = pytest.importorskip(
        "ray", reason="Ray is optional: pip install -r requirements-cluster.txt"
    )
    from harness.cluster import start_local_ray

    yield start_local_ray()
    ray.shutdown()
