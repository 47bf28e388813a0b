"""A model's test report: accuracy, per-class accuracy, the confusion matrix and the misread digits,
most confident first."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from mnist_demo.data import NUM_CLASSES
from mnist_demo.nets.inference import batch_function, predict_probs


@dataclass(frozen=True)
class TestReport:
    __test__ = False  # not a pytest test class

    accuracy: float
    n: int
    per_class: list[float]  # accuracy among the test digits of each class
    confusion: np.ndarray  # (10, 10) int: confusion[true][predicted]
    predicted: np.ndarray  # (n,) the digit read for each test image
    confidence: np.ndarray  # (n,) its probability
    mistakes: np.ndarray  # indices of the misread digits, most confident mistake first
    seconds: float

    def mistake_rows(self, labels: np.ndarray, limit: int | None = None) -> list[dict]:
        rows = []
        for i in self.mistakes[:limit]:
            rows.append(
                {
                    "index": int(i),
                    "true": int(labels[i]),
                    "predicted": int(self.predicted[i]),
                    "confidence": round(float(self.confidence[i]), 6),
                }
            )
        return rows

    def in_cell(self, labels: np.ndarray, true: int, predicted: int) -> np.ndarray:
        """Indices of the test digits of class `true` read as `predicted`, most confident first."""
        idx = np.nonzero((labels == true) & (self.predicted == predicted))[0]
        return idx[np.argsort(-self.confidence[idx], kind="stable")]

    def to_json(self, labels: np.ndarray, limit: int | None = 100) -> dict:
        return {
            "accuracy": self.accuracy,
            "n": self.n,
            "per_class": [round(v, 6) for v in self.per_class],
            "confusion": self.confusion.tolist(),
            "mistakes": self.mistake_rows(labels, limit),
        }


def test_report(model, x: np.ndarray, y: np.ndarray, progress=None) -> TestReport:
    """The report of a Keras model on uint8 images (n, 28, 28) and labels (n,).
    `progress(done, total)` after each batch of 1,000."""
    t = time.perf_counter()
    probs = predict_probs(batch_function(model), x, progress=progress)
    predicted = probs.argmax(1)
    confidence = probs[np.arange(len(y)), predicted]
    y = np.asarray(y).astype(np.int64)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    np.add.at(confusion, (y, predicted), 1)
    totals = confusion.sum(1)
    per_class = [
        float(confusion[c, c] / totals[c]) if totals[c] else float("nan")
        for c in range(NUM_CLASSES)
    ]
    wrong = np.nonzero(predicted != y)[0]
    mistakes = wrong[np.argsort(-confidence[wrong], kind="stable")]
    return TestReport(
        accuracy=float(np.trace(confusion) / max(len(y), 1)),
        n=len(y),
        per_class=per_class,
        confusion=confusion,
        predicted=predicted,
        confidence=confidence,
        mistakes=mistakes,
        seconds=time.perf_counter() - t,
    )


test_report.__test__ = False
