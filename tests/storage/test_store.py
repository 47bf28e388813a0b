import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from harness import ROOT, without_record
from mnist_demo.errors import ModelFileError, SaveRefused, ShippedModelError, UnknownModelError
from mnist_demo.nets.models import build_model
from mnist_demo.storage.saving import check_room, delete_model, save_model
from mnist_demo.storage.store import list_models, load_model, sanitize_name

META = {"model": "mlp", "recipe": "fast", "test_accuracy": 0.5}


@pytest.fixture
def saved(tmp_path):
    model = build_model("mlp")
    path = save_model(model, "mine", META, tmp_path)
    return model, path


def test_round_trip_gives_equal_predictions(saved, tmp_path):
    model, path = saved
    x = np.random.default_rng(1).random((8, 28, 28, 1), dtype=np.float32)
    again = load_model("mine", tmp_path)
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(again(x)))
    assert load_model(path).count_params() == model.count_params()


def test_sidecar_records_the_file(saved):
    _, path = saved
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    assert meta["model"] == "mlp" and meta["keras"].startswith("3.") and "saved_at" in meta


def test_no_optimizer_state_is_saved(tmp_path):
    model = build_model("mlp")
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((4, 28, 28, 1)), np.zeros(4), verbose=0)
    path = save_model(model, "compiled", META, tmp_path)
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    assert not config.get("compile_config")  # saved uncompiled: no optimizer to restore
    assert path.stat().st_size < 669_706 * 4 * 1.1  # the float32 weights, not weights + 2 moments


def test_interrupted_save_leaves_previous_file_intact(saved, tmp_path, monkeypatch):
    _, path = saved
    before = path.read_bytes()

    def crash(self, filepath, *a, **k):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # power cut, Ctrl-C, anything

    monkeypatch.setattr(keras.Model, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(build_model("mlp"), "mine", META, tmp_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.json", "mine.keras"]
    load_model(path)


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:2000]), "truncated or corrupt"),
        (lambda p: p.write_bytes(b"not a model at all"), "truncated or corrupt"),
        (lambda p: p.unlink(), "no such model file"),
    ],
)
def test_damaged_files_give_a_clear_error(saved, damage, words):
    _, path = saved
    damage(path)
    with pytest.raises(ModelFileError, match=words):
        load_model(path)


def test_a_sidecar_only_model_whose_sha256_differs_is_refused(tmp_path):
    shipped = ROOT / "weights"
    without_record(shipped / "mlp.keras", tmp_path / "old.keras")  # its record is its sidecar
    meta = json.loads((shipped / "mlp.json").read_text())
    meta["sha256"] = hashlib.sha256((tmp_path / "old.keras").read_bytes()).hexdigest()
    (tmp_path / "old.json").write_text(json.dumps(meta))
    assert load_model(tmp_path / "old.keras").count_params() == 669_706
    (tmp_path / "old.json").write_text(json.dumps({**meta, "sha256": "0" * 64}))
    with pytest.raises(ModelFileError, match="sha256"):
        load_model(tmp_path / "old.keras")


def test_weights_changed_inside_the_archive_are_detected(saved, tmp_path):
    _, path = saved
    with zipfile.ZipFile(path) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    weights = bytearray(entries["model.weights.h5"])
    weights[-100] ^= 0xFF  # a float flipped: still a valid archive, with its record unchanged
    entries["model.weights.h5"] = bytes(weights)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    with pytest.raises(ModelFileError, match="changed after it was saved"):
        load_model(path)


def test_corrupt_member_inside_a_valid_zip(tmp_path):
    p = tmp_path / "evil.keras"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("config.json", "{not json")
        z.writestr("metadata.json", "{}")
    with pytest.raises(ModelFileError, match="config.json is not readable JSON"):
        load_model(p)


def test_non_keras_files_are_refused(tmp_path):
    p = tmp_path / "model.h5"
    p.write_bytes(b"\x89HDF\r\n")
    with pytest.raises(ModelFileError, match="not a .keras file"):
        load_model(p)


def test_names_cannot_escape_the_folder(tmp_path):
    assert sanitize_name("../../etc/passwd") == "etc-passwd"
    assert sanitize_name("my model.keras") == "my-model"
    path = save_model(build_model("mlp"), "../escape", META, tmp_path / "w")
    assert path.parent == tmp_path / "w"
    with pytest.raises(UnknownModelError):
        sanitize_name("../..")


def test_unknown_name(tmp_path):
    with pytest.raises(UnknownModelError, match="unknown model"):
        load_model("nothing-here", tmp_path)


def test_list_marks_unusable_models(saved, tmp_path):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"garbage")
    listed = {m.name: m for m in list_models(tmp_path)}
    assert listed["mine"].error is None and listed["mine"].accuracy == 0.5
    assert "corrupt" in listed["broken"].error
    assert listed["mine"].meta["name"] == "mine" and listed["mine"].kind == "mlp"


def test_shipped_names_are_kept_unless_replacing_is_asked_for(tmp_path):
    for name in ("cnn", "mlp", "mlp.keras", " cnn "):
        with pytest.raises(ShippedModelError, match="shipped model"):
            save_model(build_model("mlp"), name, META, tmp_path)
    assert list(tmp_path.iterdir()) == []
    path = save_model(build_model("mlp"), "mlp", META, tmp_path, replace_shipped=True)
    assert path == tmp_path / "mlp.keras" and [m.name for m in list_models(tmp_path)] == ["mlp"]


# ------------------------------------------------------------------ names, limits, deletes


def test_a_taken_name_is_refused_with_a_free_one_unless_replacing(saved, tmp_path):
    _, path = saved
    before = path.read_bytes()
    with pytest.raises(SaveRefused, match="exists already") as e:
        save_model(build_model("mlp"), "mine", META, tmp_path, replace=False)
    assert e.value.suggestion == "mine-2" and path.read_bytes() == before
    save_model(build_model("mlp"), "mine", {**META, "test_accuracy": 0.75}, tmp_path)
    assert {m.name: m.accuracy for m in list_models(tmp_path)} == {"mine": 0.75}


def test_delete_removes_the_model_and_its_sidecar(saved, tmp_path):
    delete_model("mine", tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UnknownModelError, match="no model named 'mine'"):
        delete_model("mine", tmp_path)


def test_room_for_one_more_counts_models_megabytes_and_the_disk(saved, tmp_path, monkeypatch):
    size = saved[1].stat().st_size
    check_room(tmp_path, size, max_models=2, max_mb=100)  # one saved, room for one more
    with pytest.raises(SaveRefused, match="at most 1 saved models"):
        check_room(tmp_path, size, max_models=1, max_mb=100)
    with pytest.raises(SaveRefused, match="of this server's 3 MB"):
        check_room(tmp_path, size, max_models=10, max_mb=3)  # 2.6 MB saved + 2.6 MB to come
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=10 << 20))
    with pytest.raises(SaveRefused, match="disk is full"):
        check_room(tmp_path, size, max_models=10, max_mb=100)


# ------------------------------------------------------------------- a save killed anywhere

STEPS = ["temp file", "archive", "record", "fsync", "rename", "sidecar"]
KILLED_SAVE = """
import os, shutil, sys
from mnist_demo.storage import saving
folder, step, source = sys.argv[1:4]

class Prepared:  # writes a real archive without loading TensorFlow in this process
    optimizer = None
    def save(self, path):
        shutil.copy(source, path)

saving._after = lambda s: os._exit(9) if s == step else None
saving.save_model(Prepared(), "mine", {"model": "mlp", "test_accuracy": 0.75}, folder)
"""


@pytest.mark.parametrize("step", STEPS)
def test_a_save_killed_at_any_step_leaves_the_old_or_new_model_and_no_litter(saved, tmp_path, step):
    _, path = saved
    source = tmp_path / "plain.keras"
    build_model("mlp").save(source)  # what Keras writes, before the record goes in
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(path, folder / "mine.keras")  # the old model (accuracy 0.5) ...
    shutil.copy(path.with_suffix(".json"), folder / "mine.json")
    code = subprocess.run(
        [sys.executable, "-c", KILLED_SAVE, folder, step, source], cwd=ROOT, timeout=120
    ).returncode
    assert code == 9  # killed there, with no chance to clean up
    listed = list_models(folder)
    assert [(m.name, m.error) for m in listed] == [("mine", None)]
    new = STEPS.index(step) >= STEPS.index("rename")
    assert listed[0].accuracy == (0.75 if new else 0.5)
    assert sorted(p.name for p in folder.iterdir()) == ["mine.json", "mine.keras"]
    load_model(folder / "mine.keras")


def test_a_temp_file_still_being_written_is_left_alone(tmp_path):
    temp = tmp_path / ".mine.abc123.keras"
    with open(temp, "wb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # a save in progress holds its lock
        assert list_models(tmp_path) == [] and temp.exists()
    assert list_models(tmp_path) == [] and not temp.exists()  # its writer is gone


# --------------------------------------------------------- files that are not what they seem


def keras_archive(path: Path, config: dict, extra: dict | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("metadata.json", "{}")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "megabytes, words", [(1024, "would inflate to 1024 MB"), (100, "a zip bomb")]
)
def test_a_zip_bomb_is_refused_in_under_a_second_without_inflating_it(
    tmp_path, monkeypatch, megabytes, words
):
    config = json.loads(zipfile.ZipFile(ROOT / "weights" / "mlp.keras").read("config.json"))
    bomb = tmp_path / "x.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps(config))
        with z.open("model.weights.h5", "w") as f:
            block = bytes(1 << 20)
            for _ in range(megabytes):  # zeros: 1 GiB is a megabyte on disk
                f.write(block)
    assert bomb.stat().st_size < 2 << 20
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: pytest.fail("loaded"))
    start = time.process_time()  # CPU time: the work done, busy machine or not
    with pytest.raises(ModelFileError, match=words):
        load_model(bomb)
    [listed] = list_models(tmp_path)
    assert time.process_time() - start < 1.0
    assert words in listed.error and str(tmp_path) not in listed.error


def test_a_lambda_layer_is_found_when_listing_and_never_loaded(tmp_path, monkeypatch):
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10)(keras.layers.Lambda(lambda x: x * 2)(inputs))
    keras.Model(inputs, outputs).save(tmp_path / "lam.keras")
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: pytest.fail("loaded"))
    [listed] = list_models(tmp_path)
    assert "Lambda layer" in listed.error


def test_a_layer_from_outside_keras_is_unknown(tmp_path):
    config = json.loads(zipfile.ZipFile(ROOT / "weights" / "mlp.keras").read("config.json"))
    config["config"]["layers"][1].update(module="evil.layers", registered_name="evil>Flatten")
    keras_archive(tmp_path / "odd.keras", config)
    [listed] = list_models(tmp_path)
    assert "layer unknown here" in listed.error


def test_a_keras_file_with_no_record_is_listed_with_its_kind_from_its_layers(tmp_path):
    build_model("cnn").save(tmp_path / "plain-cnn.keras")
    build_model("mlp").save(tmp_path / "plain-mlp.keras")
    listed = {m.name: m for m in list_models(tmp_path)}
    assert {n: (m.kind, m.accuracy, m.error) for n, m in listed.items()} == {
        "plain-cnn": ("cnn", None, None),
        "plain-mlp": ("mlp", None, None),
    }
    assert load_model(tmp_path / "plain-cnn.keras").count_params() == 3_274_634


@pytest.mark.parametrize(
    "field, value",
    [
        ("test_accuracy", "high"),
        ("test_accuracy", 1.5),
        ("test_accuracy", True),
        ("test_accuracy", [0.9]),
        ("model", "rnn"),
        ("model", "cnn"),  # the file holds an MLP
        ("saved_at", 20261128),
        ("steps", -3),
        ("settings", "fast"),
    ],
)
def test_a_sidecar_with_a_wrong_field_makes_its_model_unavailable(tmp_path, field, value):
    without_record(ROOT / "weights" / "mlp.keras", tmp_path / "odd.keras")
    meta = json.loads((ROOT / "weights" / "mlp.json").read_text())
    (tmp_path / "odd.json").write_text(json.dumps({**meta, field: value}))
    [listed] = list_models(tmp_path)
    assert listed.error and (field in listed.error or "MLP" in listed.error), listed.error
    assert listed.meta == {}
