"""A .keras archive's declared size, counted from its config before Keras would allocate it:
equal to Keras' own count for networks it builds, and a huge declaration refused unloaded."""

import json
import time
import zipfile

import keras
import pytest

from mnist_demo.errors import ModelFileError
from mnist_demo.nets.models import build_model
from mnist_demo.storage.declared import MAX_PARAMS, check_declared
from mnist_demo.storage.store import list_models, load_model

L = keras.layers


def functional():
    i = keras.Input((28, 28, 1))
    x = L.Conv2D(8, 3)(i)
    y = L.Conv2D(8, 3, padding="same", strides=1)(x)
    z = L.BatchNormalization()(L.Concatenate()([x, y]))
    z = L.Flatten()(L.MaxPooling2D()(z))
    return keras.Model(i, L.Dense(10)(L.Dropout(0.1)(z)))


NETWORKS = {
    "cnn": lambda: build_model("cnn"),
    "mlp": lambda: build_model("mlp"),
    "functional": functional,
    "separable": lambda: keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            L.DepthwiseConv2D(3),
            L.SeparableConv2D(16, 3, strides=2),
            L.AveragePooling2D(3, padding="same"),
            L.GlobalMaxPooling2D(),
            L.Dense(10),
        ]
    ),  # fmt: skip
    "nested": lambda: keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.Sequential([L.Flatten(), L.Dense(32)]),
            L.Dense(10),
        ]
    ),  # fmt: skip
}


@pytest.mark.parametrize("name", NETWORKS)
def test_the_declared_count_is_keras_own(name):
    model = NETWORKS[name]()
    assert check_declared(name, json.loads(model.to_json())) == model.count_params()


def oversized(mlp_path, target, units=1_000_000):
    """The shipped MLP's archive with its first Dense declared 784 x `units`: a small file."""
    with zipfile.ZipFile(mlp_path) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                dense = next(x for x in config["config"]["layers"] if x["class_name"] == "Dense")
                dense["config"]["units"] = units
                data = json.dumps(config).encode()
            if info.filename != "mnist_studio.json":
                out.writestr(info, data)
    return target


def test_a_huge_declaration_is_listed_unavailable_at_once_and_never_loaded(tmp_path, monkeypatch):
    from harness import ROOT

    folder = tmp_path / "models"
    folder.mkdir()
    path = oversized(ROOT / "weights" / "mlp.keras", folder / "huge.keras")
    assert path.stat().st_size < 4 << 20
    loads = []
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: loads.append(a))

    t0 = time.process_time()  # CPU time: the work done, busy machine or not
    (listed,) = list_models(folder)
    assert time.process_time() - t0 < 1.0
    declared = 784 * 1_000_000 + 1_000_000 + 1_000_000 * 512 + 512 + 512 * 10 + 10
    assert listed.error is not None and f"{declared:,} parameters" in listed.error
    assert f"{MAX_PARAMS:,}" in listed.error and str(tmp_path) not in listed.error
    with pytest.raises(ModelFileError, match="refused, not loaded"):
        load_model(path)
    assert loads == []


def test_a_layer_whose_input_size_is_not_declared_is_refused():
    config = json.loads(build_model("mlp").to_json())
    layers = config["config"]["layers"]
    config["config"]["layers"] = [x for x in layers if x["class_name"] != "InputLayer"]
    config.pop("build_config", None)
    for x in config["config"]["layers"]:
        x.pop("build_config", None)
    with pytest.raises(ModelFileError, match="input size is not declared"):
        check_declared("m", config)


@pytest.mark.parametrize("units", [-5, 2.5, "many", True, 10**15])
def test_a_size_that_is_not_a_whole_number_in_range_is_refused(units):
    config = json.loads(build_model("mlp").to_json())
    next(x for x in config["config"]["layers"] if x["class_name"] == "Dense")["config"]["units"] = (
        units
    )
    with pytest.raises(ModelFileError, match="not a whole number"):
        check_declared("m", config)
