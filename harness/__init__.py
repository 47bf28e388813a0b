"""What the tests and the benchmarks both use: pen drawings of MNIST digits made independently of
the project's code, digits as mouse strokes, and the real app under `streamlit run` for Chromium."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the project's top folder
