"""What the tests and the benchmarks both use: pen drawings of MNIST digits made independently of
the project's code, digits as mouse strokes, and the real app under `streamlit run` for Chromium."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the project's top folder


def without_record(src: Path, dst: Path) -> None:
    """Copy a saved model without the record the project keeps inside it, as Keras saves a
    model: then its sidecar is what the app reads (tests make sidecars that lie)."""
    import zipfile

    with zipfile.ZipFile(src) as inside, zipfile.ZipFile(dst, "w") as out:
        for item in inside.infolist():
            if item.filename != "mnist_studio.json":
                out.writestr(item, inside.read(item))
