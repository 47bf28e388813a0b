"""The code's shape holds: short modules and functions, and the layers import only downwards."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from harness import ROOT

PAGE = [ROOT / "app.py", *sorted((ROOT / "studio").glob("*.py"))]
LIBRARY = sorted((ROOT / "mnist_demo").glob("*.py"))
HARNESS = sorted((ROOT / "harness").glob("*.py"))


def imported(path) -> set[str]:
    """Top-level package names a module imports, wherever in the module the import stands."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_app_is_a_short_main():
    assert len((ROOT / "app.py").read_text().splitlines()) < 80


@pytest.mark.parametrize("path", PAGE[1:] + LIBRARY, ids=lambda p: p.name)
def test_modules_stay_under_250_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= 250, f"{path.name}: {n} lines"


@pytest.mark.parametrize("path", PAGE + LIBRARY + HARNESS, ids=lambda p: p.name)
def test_functions_fit_on_a_screen(path):
    tree = ast.parse(path.read_text())
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 40
    ]
    assert not long, long


def test_the_library_never_loads_the_page():
    code = (
        "import importlib, pkgutil, sys, mnist_demo\n"
        "for m in pkgutil.iter_modules(mnist_demo.__path__):\n"
        "    if m.name != '__main__':\n"
        "        importlib.import_module('mnist_demo.' + m.name)\n"
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'streamlit', 'studio', 'app'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    for path in LIBRARY:
        assert not imported(path) & {"streamlit", "studio", "app"}, path.name


def test_only_app_imports_the_page_and_nothing_imports_tests():
    for path in LIBRARY + HARNESS + sorted((ROOT / "studio").glob("*.py")):
        assert "app" not in imported(path), path
    for path in LIBRARY + HARNESS:
        assert "studio" not in imported(path), path
    for path in sorted((ROOT / "benchmarks").glob("*.py")) + HARNESS:
        assert not imported(path) & {"tests", "conftest", "drawings"}, path
