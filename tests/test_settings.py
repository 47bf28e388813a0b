"""Settings: every environment variable read in one module, typed, documented in one table."""

from __future__ import annotations

import ast

import pytest

from harness import ROOT
from mnist_demo import settings
from mnist_demo.errors import MnistDemoError


def test_unset_or_empty_gives_the_default(monkeypatch):
    monkeypatch.delenv("MNIST_STUDIO_MAX_TRAIN_S", raising=False)
    assert settings.MAX_TRAIN_S.get() == 600.0
    monkeypatch.setenv("MNIST_STUDIO_MAX_TRAIN_S", "")
    assert settings.MAX_TRAIN_S.get() == 600.0
    monkeypatch.setenv("MNIST_STUDIO_MAX_TRAIN_S", "90")
    assert settings.MAX_TRAIN_S.get() == 90.0
    monkeypatch.delenv("MNIST_STUDIO_RAY_ADDRESS", raising=False)
    assert settings.RAY_ADDRESS.get() is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MNIST_STUDIO_MAX_TRAININGS", "two"),
        ("MNIST_STUDIO_MAX_TRAININGS", "0"),
        ("MNIST_STUDIO_CPUS_PER_TRAINING", "-1"),
        ("MNIST_STUDIO_ADMIN", "yes"),
        ("MNIST_STUDIO_PRECISION", "float16"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_it_expects(monkeypatch, name, value):
    setting = next(s for s in settings.ALL if s.name == name)
    monkeypatch.setenv(name, value)
    with pytest.raises(MnistDemoError) as caught:
        setting.get()
    assert name in str(caught.value) and repr(value) in str(caught.value)
    assert setting.expects in str(caught.value)


def test_flags_read_as_booleans(monkeypatch):
    monkeypatch.setenv("MNIST_STUDIO_ADMIN", "1")
    assert settings.ADMIN.get() is True
    monkeypatch.setenv("MNIST_STUDIO_WARM_TRAINER", "0")
    assert settings.WARM_TRAINER.get() is False


def test_the_docs_table_is_the_settings():
    doc = (ROOT / "docs" / "serving.md").read_text()
    assert settings.table() in doc
    assert len(settings.ALL) == len({s.name for s in settings.ALL})


def _reads_environment(tree) -> list[int]:
    """Lines where a module reads os.environ or os.getenv (writing a child's variable is not a
    setting: os.environ.setdefault for a library's own log level)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("get", "getenv", "pop"):
            target = ast.unparse(node.value)
            if target in ("os.environ", "os") and (node.attr != "getenv" or target == "os"):
                lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            if isinstance(node.ctx, ast.Load):
                lines.append(node.lineno)
    return lines


def test_no_module_but_settings_reads_the_environment():
    product = [
        ROOT / "app.py",
        *(ROOT / "studio").glob("*.py"),
        *(ROOT / "mnist_demo").rglob("*.py"),
    ]
    readers = {
        str(p.relative_to(ROOT)): found
        for p in product
        if p.name != "settings.py" and (found := _reads_environment(ast.parse(p.read_text())))
    }
    assert not readers
