import json
import zipfile

import keras
import numpy as np
import pytest

from mnist_demo.errors import ModelFileError, ShippedModelError, UnknownModelError
from mnist_demo.models import build_model
from mnist_demo.store import list_models, load_model, sanitize_name, save_model, sha256_file

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


def test_sha256_mismatch_is_detected(saved, tmp_path):
    _, path = saved
    other = save_model(build_model("mlp"), "other", META, tmp_path)
    path.write_bytes(other.read_bytes())  # a valid model, but not the one the sidecar describes
    with pytest.raises(ModelFileError, match="sha256"):
        load_model(path)


def test_corrupt_member_inside_a_valid_zip(tmp_path):
    p = tmp_path / "evil.keras"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("config.json", "{not json")
        z.writestr("metadata.json", "{}")
    with pytest.raises(ModelFileError, match="cannot be loaded"):
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
    assert sha256_file(saved[1]) == listed["mine"].meta["sha256"]


def test_shipped_names_are_kept_unless_replacing_is_asked_for(tmp_path):
    for name in ("cnn", "mlp", "mlp.keras", " cnn "):
        with pytest.raises(ShippedModelError, match="shipped model"):
            save_model(build_model("mlp"), name, META, tmp_path)
    assert list(tmp_path.iterdir()) == []
    path = save_model(build_model("mlp"), "mlp", META, tmp_path, replace_shipped=True)
    assert path == tmp_path / "mlp.keras" and [m.name for m in list_models(tmp_path)] == ["mlp"]
