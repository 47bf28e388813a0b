"""Save names: any script's letters kept, Windows' device names refused, shipped names in any
case, and what is left safe to join to a folder."""

import unicodedata

import pytest

from mnist_demo.errors import ShippedModelError, UnknownModelError
from mnist_demo.nets.models import build_model
from mnist_demo.storage.saving import name_to_save, save_model
from mnist_demo.storage.store import list_models, sanitize_name, shipped_name

# Microsoft's list ("Naming Files, Paths, and Namespaces"): these names, with any extension.
WINDOWS_DEVICES = ["CON", "PRN", "AUX", "NUL"] + [
    f"{d}{n}" for d in ("COM", "LPT") for n in "123456789"
]


@pytest.mark.parametrize(
    "name", WINDOWS_DEVICES + ["con", "Nul.keras", "aux.model", "lpt1.v2", "COM¹"]
)
def test_windows_device_names_are_refused(name):
    with pytest.raises(UnknownModelError, match="Windows keeps for a device"):
        sanitize_name(name)


@pytest.mark.parametrize("name", ["console", "nully", "com10", "lpt0", "auxiliary"])
def test_names_that_only_begin_like_a_device_are_kept(name):
    assert sanitize_name(name) == name


def test_letters_of_any_script_are_kept_in_nfc():
    assert sanitize_name("ünïcødé-名前") == "ünïcødé-名前"
    assert sanitize_name("숫자 인식") == "숫자-인식"
    decomposed = unicodedata.normalize("NFD", "café")
    assert len(decomposed) == 5 and sanitize_name(decomposed) == "café"  # 4 code points: NFC


def test_separators_and_control_characters_become_one_dash():
    assert sanitize_name("a/b\\c") == "a-b-c"
    assert sanitize_name("tab\there\x00nul\x1b") == "tab-here-nul"
    assert sanitize_name("two  spaces") == "two-spaces"
    assert sanitize_name("..hidden") == "hidden"


def test_a_long_name_fits_a_file_name_in_bytes():
    stem = sanitize_name("名" * 100)
    assert len(f"{stem}.keras".encode()) <= 255 and set(stem) == {"名"}


def test_shipped_names_are_refused_in_any_case(tmp_path):
    for name in ("CNN", "Mlp", "cnn"):
        with pytest.raises(ShippedModelError):
            name_to_save(name)
    (tmp_path / "Extra.keras").write_bytes(b"")
    assert shipped_name("cNn", tmp_path) == "cnn"
    assert shipped_name("EXTRA", tmp_path) == "Extra"
    assert shipped_name("other", tmp_path) is None


def test_a_unicode_name_saves_and_lists_under_that_name(tmp_path):
    path = save_model(build_model("mlp"), "숫자 모델", {"model": "mlp"}, tmp_path)
    assert path.name == "숫자-모델.keras"
    assert [m.name for m in list_models(tmp_path)] == ["숫자-모델"]
