import gzip
import struct

import keras
import numpy as np
import pytest

from mnist_demo.data import ENV_VAR, load_mnist, to_float
from mnist_demo.errors import DataError


def write_idx(path, array, gz):
    """LeCun's IDX format, written here from its specification (not by the project's reader)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


def idx_folder(tmp_path, mnist, gz=True, n=300):
    names = {
        "train-images-idx3-ubyte": mnist.x_train[:n],
        "train-labels-idx1-ubyte": mnist.y_train[:n],
        "t10k-images-idx3-ubyte": mnist.x_test[:n],
        "t10k-labels-idx1-ubyte": mnist.y_test[:n],
    }
    for stem, arr in names.items():
        write_idx(tmp_path / (stem + (".gz" if gz else "")), arr, gz)
    return tmp_path


def test_npz_path_loads_the_full_set(mnist_path):
    m = load_mnist(mnist_path)
    assert m.x_train.shape == (60000, 28, 28) and m.x_test.shape == (10000, 28, 28)
    assert m.x_train.dtype == np.uint8 and m.y_test.dtype == np.uint8
    # Label counts published with MNIST's test set.
    assert np.bincount(m.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_environment_variable_is_used_when_no_path(mnist_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(mnist_path))
    assert load_mnist().source == str(mnist_path)


def test_explicit_path_wins_over_environment(mnist_path, monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nowhere.npz"))
    assert load_mnist(mnist_path).x_test.shape == (10000, 28, 28)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_gives_the_same_arrays(tmp_path, mnist, gz):
    m = load_mnist(idx_folder(tmp_path, mnist, gz=gz))
    np.testing.assert_array_equal(m.x_train, mnist.x_train[:300])
    np.testing.assert_array_equal(m.y_test, mnist.y_test[:300])


def test_to_float_scales_to_unit_range():
    x = np.array([[[0, 255], [51, 102]]], np.uint8)
    out = to_float(x)
    assert out.shape == (1, 2, 2, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, :, :, 0], [[0, 1], [0.2, 0.4]])


def bad_npz(tmp_path, **arrays):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    return p


GOOD = dict(
    x_train=np.zeros((5, 28, 28), np.uint8),
    y_train=np.arange(5, dtype=np.uint8),
    x_test=np.zeros((3, 28, 28), np.uint8),
    y_test=np.arange(3, dtype=np.uint8),
)


@pytest.mark.parametrize(
    "change, words",
    [
        ({"x_train": np.zeros((5, 32, 32), np.uint8)}, "shape"),
        ({"x_test": np.zeros((3, 28, 28), np.float64)}, "uint8"),
        ({"y_train": np.array([0, 1, 2, 3, 10], np.uint8)}, "labels 0..9"),
        ({"y_test": np.zeros(4, np.uint8)}, "shape"),
        (
            {"x_train": np.zeros((0, 28, 28), np.uint8), "y_train": np.zeros(0, np.uint8)},
            "x_train and y_train are empty",
        ),  # fmt: skip
        ({"x_test": np.zeros((0, 28, 28), np.uint8)}, "x_test is empty"),
    ],
)
def test_malformed_arrays_are_refused_with_the_path(tmp_path, change, words):
    p = bad_npz(tmp_path, **{**GOOD, **change})
    with pytest.raises(DataError, match=words) as e:
        load_mnist(p)
    assert str(p) in str(e.value) or "bad.npz" in str(e.value)


def test_npz_missing_an_array(tmp_path):
    arrays = dict(GOOD)
    del arrays["y_test"]
    with pytest.raises(DataError, match="y_test"):
        load_mnist(bad_npz(tmp_path, **arrays))


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(DataError, match="MNIST_DATA"):
        load_mnist(tmp_path / "absent.npz")


def test_garbage_file_is_not_an_npz(tmp_path):
    p = tmp_path / "mnist.npz"
    p.write_bytes(b"this is not an archive" * 100)
    with pytest.raises(DataError, match="not an .npz"):
        load_mnist(p)


def test_truncated_npz_is_corrupt(tmp_path, mnist_path):
    p = tmp_path / "cut.npz"
    p.write_bytes(mnist_path.read_bytes()[:5_000_000])
    with pytest.raises(DataError):
        load_mnist(p)


def test_truncated_idx_file(tmp_path, mnist):
    folder = idx_folder(tmp_path, mnist, gz=False)
    f = folder / "t10k-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated"):
        load_mnist(folder)


def test_corrupt_gzip(tmp_path, mnist):
    folder = idx_folder(tmp_path, mnist, gz=True)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataError, match="train-labels"):
        load_mnist(folder)


def test_folder_without_idx_files(tmp_path):
    with pytest.raises(DataError, match="train-images"):
        load_mnist(tmp_path)


def test_failed_download_says_set_mnist_data(monkeypatch):
    def offline():
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError, match="set MNIST_DATA=") as e:
        load_mnist()
    assert "download" in str(e.value)
