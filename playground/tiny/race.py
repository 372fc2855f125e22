"""A race: two training runs on the same text, tokenizer and batches, differing in their recipe (or any ingredient
of it), so a learner sees which ideas buy speed, per step and per second of training.

The two runs take turns, one logging interval each, in one thread: each one's clock (`Trainer.elapsed`) counts only
its own training, so their wall times compare fairly on a shared machine. A session races one pair at a time
(Racing), and not while it trains (the session's one job lock); Stop is a flag read between steps. Nothing is
saved: a race is a measurement (train the winner in the tab above).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from ..errors import UserError
from ..limits import JobLock
from . import data, recipes
from .config import TrainConfig
from .train import Limits, Progress, Trainer, build_tokenizer, count_parameters

LANES = ("A", "B")
LIVE = ("preparing", "racing", "stopping")  # a race in these states has not ended yet


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


@dataclass(frozen=True)
class Lane:
    """One side as the chart and readout need it: what is kept of a run once its race has ended."""

    cfg: TrainConfig
    step: int
    tokens: int
    elapsed: float  # its own training seconds
    done: bool


@dataclass
class Race:
    """The two runs and their curves. Once it has ended (`settle`) only the lanes and laps are kept: a session's
    last race stays for its chart as long as its page, and two models with their optimizers and token tensors
    (up to about 1 GB at the limits) would stay with it."""

    runs: dict[str, Trainer]
    laps: dict[str, list[Progress]] = field(default_factory=lambda: {s: [] for s in LANES})
    settled: dict[str, Lane] | None = None

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
        return cls({side: Trainer(cfg, text, tokenizer) for side, cfg in zip(LANES, (a, b))})

    def lanes(self) -> dict[str, Lane]:
        runs = self.runs  # (first: a page may read while the race settles, which sets `settled` before `runs`)
        if self.settled is not None:
            return self.settled
        return {s: Lane(run.cfg, run.step, run.tokens, run.elapsed, run.done) for s, run in runs.items()}

    def settle(self) -> None:
        """The race has ended: keep its lanes, let its runs go."""
        self.settled = self.lanes()
        self.runs = {}

    @property
    def done(self) -> bool:
        return all(lane.done for lane in self.lanes().values())

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
        return sum(lane.elapsed for lane in self.lanes().values())

    def to_reach(self) -> tuple[float, dict[str, tuple[int, float] | None]]:
        """The loss both sides reached (the worse of their best validation losses), and for each side the step and
        training seconds at which it first got there."""
        best = {
            s: min((e.val_loss for e in laps if e.val_loss is not None), default=None) for s, laps in self.laps.items()
        }
        if any(v is None for v in best.values()):
            return float("nan"), {s: None for s in LANES}
        target = max(v for v in best.values() if v is not None)
        first = {
            s: next(((e.step, e.elapsed) for e in laps if e.val_loss is not None and e.val_loss <= target), None)
            for s, laps in self.laps.items()
        }
        return target, first


class Racing:
    """A session's race, one at a time, and the last one kept for its chart.

    `state` goes preparing → racing (→ stopping) → done | stopped. Stop is a flag the runs read between steps,
    so a race ends within one logging interval of it; `settle` waits for that end, so whoever asked to stop can
    show the race's own last result instead of a "Stopping…" that nothing would replace."""

    def __init__(self, job: JobLock | None = None) -> None:
        self.race: Race | None = None
        self.names: dict[str, str] = {}  # each side's recipe, as the page calls it
        self.state = "idle"
        self.stop_requested = False
        self._job = job or JobLock()  # the session's one training-like job (its training run's too)
        self._changed = threading.Condition()  # notified at every change of state: no wake-up is lost

    @contextmanager
    def hold(self) -> Iterator[None]:
        """The session's one race (refused while the session races or trains); it ends done or stopped, also when
        it fails or its page goes away."""
        with self._job.hold("racing two recipes"):
            try:
                self.race, self.stop_requested = None, False
                self._set("preparing")
                yield
            finally:
                if self.state in LIVE:
                    self._set("stopped")

    def start(self, a: TrainConfig, b: TrainConfig, text: str, limits: Limits, names: dict[str, str]) -> Race:
        """(holding) Both sides' runs (Race.start); a Stop asked for while they were built still holds."""
        race = Race.start(a, b, text, limits)
        with self._changed:
            self.race, self.names = race, names
            if self.state == "preparing":
                self._set("racing")
        return race

    def advance(self, max_seconds: float) -> Iterator[Lap]:
        """(holding) The race's laps until both sides are done, Stop is read or they have trained `max_seconds`
        together; then `state` says done or stopped."""
        race = self.race
        if race is None:
            raise ValueError("start a race before advancing it")
        try:
            yield from race.advance(lambda: self.stop_requested or race.seconds() > max_seconds)
        finally:
            race.settle()  # kept for its chart as long as the session: without its models
        self._set("done" if race.done else "stopped")

    def stop(self) -> str:
        """Ask a live race to stop; returns the state ("stopping", or where a race that is not live stands)."""
        with self._changed:
            if self.state in LIVE:
                self.stop_requested = True
                self._set("stopping")
            return self.state

    def settle(self, timeout: float) -> str:
        """The state once the race has ended, waiting for it at most `timeout` seconds (still live after that)."""
        with self._changed:
            self._changed.wait_for(lambda: self.state not in LIVE, timeout)
            return self.state

    def _set(self, state: str) -> None:
        with self._changed:
            self.state = state
            self._changed.notify_all()

    def close(self) -> None:
        """The session ended: a live race stops within a step (and goes with its page's call); a past one goes now."""
        if self.stop() not in LIVE:
            self.race = None
