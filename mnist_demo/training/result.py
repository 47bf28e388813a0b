"""What a training gives: the model, how it was trained and how well it reads the test set.

`metadata()` is the sidecar's record of it, for the page and the CLI alike; `verdict()` says when
a model is not worth answering with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mnist_demo.data import NUM_CLASSES
from mnist_demo.events import curves
from mnist_demo.training.recipes import Recipe

CHANCE = 1 / NUM_CLASSES
# A model this close to guessing has not learnt (the CNN collapsed at learning rate 0.1 reads
# 11.35%); one this far below the model answering now would be a step back.
NOT_LEARNT, FAR_BELOW = 2 * CHANCE, 0.05


@dataclass
class TrainResult:
    model: object  # a keras.Model: the trained weights under the float32 policy, uncompiled
    recipe: Recipe
    precision: str
    steps: int
    epochs: float  # passes over the training data, fractional when stopped or step-based
    seconds: float  # training only: excludes loading data and the final evaluation
    test_accuracy: float
    test_loss: float
    stopped: bool  # True when a stop request or early stopping ended it before the schedule
    train_images: int  # the training set it was given (a validation split included)
    test_images: int  # the test set its accuracy and loss come from
    history: list[dict] = field(default_factory=list)  # its metric events (events.py)
    extra: dict = field(default_factory=dict)  # more for the record (a fine-tune's figures)

    def metadata(self, command: str) -> dict:
        """How this model was trained, for its sidecar (store.save_model adds the file's own
        facts): the one place the page and the CLI both take it from."""
        return {
            "model": self.recipe.model,
            "recipe": self.recipe.name,
            "settings": self.recipe.settings(),
            "precision": self.precision,
            "test_accuracy": round(self.test_accuracy, 6),
            "test_loss": round(self.test_loss, 6),
            "test_images": self.test_images,
            "train_images": self.train_images,
            "steps": self.steps,
            "epochs": round(self.epochs, 3),
            "train_seconds": round(self.seconds, 2),
            "stopped_early": self.stopped,
            "command": command,
            "curves": curves(self.history),
            **self.extra,
        }

    def verdict(self, answering: float | None = None) -> str | None:
        """Why this model should not take over from the one whose test accuracy is `answering`
        (None: there is none), or None when it may."""
        acc = self.test_accuracy
        if acc < NOT_LEARNT:
            return (
                f"test accuracy {acc:.2%} is no better than guessing ({CHANCE:.0%}): this model "
                "did not learn; try a lower learning rate or more steps"
            )
        if answering is not None and acc < answering - FAR_BELOW:
            return (
                f"test accuracy {acc:.2%} is far below the {answering:.2%} of the model "
                "answering now"
            )
        return None
