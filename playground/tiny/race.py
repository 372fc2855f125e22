"""A race: two training runs on the same text, tokenizer and batches, differing in their recipe (or any ingredient
of it), so a learner sees which ideas buy speed, per step and per second of training.

The two runs take turns, one logging interval each, in one thread: each one's clock (`Run.elapsed`) counts only
its own training, so their wall times compare fairly on a shared machine. A session races one pair at a time;
Stop is a flag read between steps. Nothing is saved: a race is a measurement (train the winner in the tab above).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from ..errors import UserError
from . import data, recipes
from .train import Limits, Progress, Run, TrainConfig, build_tokenizer, count_parameters

SIDES = ("A", "B")


def ingredients(base: TrainConfig, modern: set[str]) -> TrainConfig:
    """`base` with the modern recipe's value for each ingredient named in `modern` (recipes.WHY's names) and the
    classic one for the rest; the learning rate is the modern one when Muon is among them (it takes a larger step)."""
    unknown = modern - set(recipes.WHY)
    if unknown:
        raise UserError(f"Unknown ingredients: {', '.join(sorted(unknown))}; choose from {', '.join(recipes.WHY)}.")
    chosen = {k: recipes.RECIPES["modern" if k in modern else "classic"][k] for k in recipes.WHY}
    lr = recipes.RECIPES["modern" if "optimizer" in modern else "classic"]["lr"]
    weight_decay = recipes.RECIPES["modern" if "optimizer" in modern else "classic"]["weight_decay"]
    return replace(base, **chosen, lr=lr, weight_decay=weight_decay)


def differences(a: TrainConfig, b: TrainConfig) -> list[tuple[str, object, object, str]]:
    """(ingredient, A's value, B's value, why) for each ingredient the two sides set differently."""
    return [(k, getattr(a, k), getattr(b, k), recipes.WHY[k]) for k in recipes.WHY if getattr(a, k) != getattr(b, k)]


@dataclass
class Lap:
    """One side's logging event in the race."""

    side: str
    event: Progress


@dataclass
class Race:
    """The two runs and their curves."""

    runs: dict[str, Run]
    laps: dict[str, list[Progress]] = field(default_factory=lambda: {s: [] for s in SIDES})

    @classmethod
    def start(cls, a: TrainConfig, b: TrainConfig, text: str, limits: Limits) -> Race:
        """Both runs on `text`, with one tokenizer built from its training part (so both read the same tokens)."""
        if a.objective != b.objective:
            raise UserError("Both sides of a race learn the same objective; only the recipe differs.")
        for cfg in (a, b):  # before anything is built: a context or batch of 10⁹ would allocate first
            limits.check(cfg, 0)
        tokenizer = build_tokenizer(a, data.split_train_val(text)[0])
        for cfg in (a, b):
            limits.check(cfg, count_parameters(cfg, len(tokenizer)))  # on the meta device: no memory
        return cls({side: Run(cfg, text, tokenizer) for side, cfg in zip(SIDES, (a, b))})

    @property
    def done(self) -> bool:
        return all(run.done for run in self.runs.values())

    def advance(self, halt: Callable[[], bool] = lambda: False) -> Iterator[Lap]:
        """Turns of one logging interval each until both are done or `halt()`."""
        while not self.done and not halt():
            for side, run in self.runs.items():
                if run.done or halt():
                    continue
                for event in run.advance(max_steps=run.steps_to_next_log(), pause=halt):
                    self.laps[side].append(event)
                    yield Lap(side, event)

    def seconds(self) -> float:
        return sum(run.elapsed for run in self.runs.values())

    def to_reach(self) -> tuple[float, dict[str, tuple[int, float] | None]]:
        """The loss both sides reached (the worse of their best validation losses), and for each side the step and
        training seconds at which it first got there."""
        best = {
            s: min((e.val_loss for e in laps if e.val_loss is not None), default=None) for s, laps in self.laps.items()
        }
        if any(v is None for v in best.values()):
            return float("nan"), {s: None for s in SIDES}
        target = max(v for v in best.values() if v is not None)
        first = {
            s: next(((e.step, e.elapsed) for e in laps if e.val_loss is not None and e.val_loss <= target), None)
            for s, laps in self.laps.items()
        }
        return target, first


class Racing:
    """A session's race: one at a time, Stop read between steps, the last one kept for its chart."""

    def __init__(self) -> None:
        self.race: Race | None = None
        self._busy = threading.Lock()
        self.stop_requested = False

    @contextmanager
    def hold(self) -> Iterator[None]:
        if not self._busy.acquire(blocking=False):
            raise UserError("This session is already racing; stop that race first.")
        try:
            self.stop_requested = False
            yield
        finally:
            self._busy.release()

    @property
    def busy(self) -> bool:
        return self._busy.locked()

    def halted(self) -> bool:
        return self.stop_requested

    def stop(self) -> str:
        if not self.busy:
            return "idle"
        self.stop_requested = True
        return "stopping"

    def close(self) -> None:
        self.stop_requested = True
        self.race = None
