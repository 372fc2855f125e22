"""Fine-tuning's settings and events: what a run is asked for (FineTuneConfig) and what each logging interval
reports of both models (FineTuneProgress), apart from the loop that makes them (run.py), so that what reads them
(the export's model card, the tab) need not import the loop."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..tiny.config import TrainConfig
from ..tiny.train import Progress
from .heads import Classifier


@dataclass
class FineTuneConfig(TrainConfig):
    """The training loop's settings with fine-tuning defaults; the body's shape comes from the pre-trained model
    (TrainConfig's shape fields are not used)."""

    task: str = "who-wrote-it"
    labels: int = 256  # labelled training examples drawn from the task (balanced over its labels)
    epochs: float = 3.0  # passes over the examples, when steps are not given (see steps_for)
    min_steps: int = 40  # ... but at least this many steps (16 labels still get some training)
    freeze: bool = False  # True: a linear probe (only the head learns); False: the whole model learns
    lr: float = 2e-4  # the bundled models were pre-trained at 1e-3
    probe_lr: float = 2e-3  # a frozen body's head alone takes larger steps
    batch_size: int = 16
    steps: int = 150
    warmup_steps: int = 10
    weight_decay: float = 0.01  # as BERT's fine-tuning
    beta2: float = 0.999
    log_every: int = 5
    eval_every: int = 25
    # evaluations before the last read this many validation examples (a fixed subset, balanced over the labels:
    # an evaluation of two models on 400 long passages costs more than the steps between); the last reads all
    eval_examples: int = 100
    seed: int = 0


def steps_for(labels: int, batch_size: int = 16, epochs: float = 3.0, least: int = 40) -> int:
    """Steps for `epochs` passes over `labels` examples, at least `least` (16 labels still get some training)."""
    return max(least, math.ceil(epochs * labels / batch_size))


@dataclass
class FineTuneProgress(Progress):
    """An event of both models at one step: the Progress fields are the pre-trained model's."""

    scratch_train_loss: float | None = None
    scratch_val_loss: float | None = None
    classifiers: dict[str, Classifier] = field(default_factory=dict)  # on the final event
    evaluated: int = 0  # the validation examples its accuracy was measured on (0: not evaluated at this step)

    def accuracy(self, side: str) -> float | None:
        return self.metrics.get("accuracy" if side == "pretrained" else "scratch_accuracy")

    def describe(self) -> list[str]:
        parts = [f"step {self.step}/{self.steps}"]
        for side, train, val in (
            ("pretrained", self.train_loss, self.val_loss),
            ("scratch", self.scratch_train_loss, self.scratch_val_loss),
        ):
            words = [f"train loss {train:.3f}"] if train is not None else []
            if val is not None:
                words.append(f"validation loss {val:.3f}")
            acc = self.accuracy(side)
            if acc is not None:
                words.append(f"accuracy {acc:.1%}")
            parts.append(f"{side}: " + ", ".join(words))
        if self.evaluated:
            parts.append(f"accuracy on {self.evaluated:,} held-out examples")
        parts.append(f"{self.elapsed:.1f} s")
        return parts
