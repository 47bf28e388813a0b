"""Nothing on the way to the first paint imports TensorFlow or Keras, nor Altair and pandas
(2 s on a busy 2-core CPU, for charts the first page does not show): the canvas comes first."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("tensorflow", "keras", "altair", "pandas")


def test_the_page_and_its_panels_import_without_tensorflow():
    modules = ["app"] + sorted(f"studio.{p.stem}" for p in (ROOT / "studio").glob("*.py"))
    code = (
        "import sys\n"
        f"for m in {modules!r}:\n"
        "    __import__(m)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"imported at import time: {out.stdout}"
    assert len(modules) > 10  # every panel was imported
