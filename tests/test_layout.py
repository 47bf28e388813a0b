"""The code's shape holds: rooms by concern, short modules and functions, imports only downwards,
no private name borrowed across modules, light package imports."""

from __future__ import annotations

import ast
import subprocess
import sys

from harness import ROOT

PAGE = [ROOT / "app.py", *sorted((ROOT / "studio").glob("*.py"))]
LIBRARY = sorted((ROOT / "mnist_demo").rglob("*.py"))
SUBPACKAGES = sorted(p.parent for p in (ROOT / "mnist_demo").glob("*/__init__.py"))
HARNESS = sorted((ROOT / "harness").glob("*.py"))
PRODUCT = PAGE + LIBRARY


def imported(path) -> set[str]:
    """Top-level package names a module imports, wherever in the module the import stands."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def name(path) -> str:
    return str(path.relative_to(ROOT))


def test_app_is_a_short_main():
    assert len((ROOT / "app.py").read_text().splitlines()) < 80


def test_the_library_is_in_rooms_with_few_modules_at_the_top():
    top = sorted(p.name for p in (ROOT / "mnist_demo").glob("*.py"))
    assert len(top) <= 8, top
    assert len(SUBPACKAGES) >= 5
    for package in SUBPACKAGES:
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert doc and len(doc.split()) >= 20, f"{name(package)} says what it holds"


def test_modules_stay_under_250_lines_and_functions_under_40():
    long_modules = [
        f"{name(p)}: {n}"
        for p in PAGE[1:] + LIBRARY
        if (n := len(p.read_text().splitlines())) > 250
    ]
    assert not long_modules
    long_functions = [
        f"{name(path)}: {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in PRODUCT + HARNESS
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 40
    ]
    assert not long_functions


def test_no_private_name_is_imported_across_modules():
    borrowed = [
        f"{name(path)}: from {node.module} import {alias.name}"
        for path in PRODUCT + HARNESS
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert not borrowed


def test_formatter_packing_is_rare():
    packed = sum(p.read_text().count("fmt: skip") for p in PRODUCT)
    assert packed <= 5, f"{packed} '# fmt: skip' in product code"


def test_every_library_module_is_named_in_the_architecture_doc():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    missing = [name(p) for p in LIBRARY if name(p) not in doc]
    assert not missing, missing


def _imports_after(module: str) -> set[str]:
    code = (
        f"import sys, {module}\n"
        "print(sorted({n.split('.')[0] for n in sys.modules}"
        " & {'tensorflow', 'keras', 'streamlit', 'studio', 'app'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(ast.literal_eval(out.stdout.strip()))


def test_importing_the_library_and_its_rooms_loads_no_tensorflow():
    rooms = ", ".join(f"mnist_demo.{p.name}" for p in SUBPACKAGES)
    assert _imports_after(f"mnist_demo, {rooms}") == set()


def test_the_library_never_loads_the_page():
    code = (
        "import importlib, pkgutil, sys, mnist_demo\n"
        "for m in pkgutil.walk_packages(mnist_demo.__path__, 'mnist_demo.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'streamlit', 'studio', 'app'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    for path in LIBRARY:
        assert not imported(path) & {"streamlit", "studio", "app"}, name(path)


def test_only_app_imports_the_page_and_nothing_imports_tests():
    for path in LIBRARY + HARNESS + PAGE[1:]:
        assert "app" not in imported(path), name(path)
    for path in LIBRARY + HARNESS:
        assert "studio" not in imported(path), name(path)
    for path in sorted((ROOT / "benchmarks").glob("*.py")) + HARNESS:
        assert not imported(path) & {"tests", "conftest", "drawings"}, name(path)
