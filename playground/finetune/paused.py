"""All sessions' paused fine-tunings share one memory budget.

A paused run keeps both models and the optimizers' state (Adam: two moments per weight) until its page resumes
or stops it, or its session ends, which can be hours: about 0.55 GB for the encoder trained whole, over 3 GB for
SmolLM2. Many pages each pausing one could exhaust the Space, so past the budget the longest-paused runs of other
sessions are stopped where they stand, as Stop would: what they learned is kept like a finished run's, and their
page says why the next time it is used. A run larger than the whole budget still pauses, alone.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from ..tiny.run import TrainingRun
from ..tiny.train import Trainer

PAUSED_BYTES = int(float(os.environ.get("PLAYGROUND_PAUSED_BYTES", 2e9)))


@dataclass(eq=False)
class _Paused:
    part: weakref.ref[TrainingRun]  # (weak: a closed session's run is not kept alive by this list)
    run: weakref.ref[Trainer]  # the run as it paused: once the part holds another run or none, the entry is stale
    size: int

    def live(self) -> TrainingRun | None:
        """The part, while it still holds this paused run (it may have resumed: then it is busy)."""
        part = self.part()
        return part if part is not None and part.run is not None and part.run is self.run() else None


class PausedRuns:
    """`paused(part)` records a part that has just paused and stops others' longest-paused runs past the budget."""

    def __init__(self, budget: int, size_of: Callable[[Trainer], int]):
        self.budget = budget
        self._size_of = size_of
        self._entries: list[_Paused] = []  # longest paused first
        self._guard = threading.Lock()

    def paused(self, part: TrainingRun, notice: Callable[[Trainer], str]) -> list[TrainingRun]:
        """`part` (holding its run) has just paused: record it, then set aside other parts' paused runs, longest
        paused first, until what is paused fits the budget; each is told `notice(its run)`. Returns those set
        aside. A run that resumed is not counted (a running run holds one of the limited training places)."""
        run = part.run
        assert run is not None
        with self._guard:
            self._entries = [e for e in self._entries if e.live() not in (None, part)]
            self._entries.append(_Paused(weakref.ref(part), weakref.ref(run), self._size_of(run)))
            waiting = [(e, p) for e in self._entries if (p := e.live()) is not None and (p is part or not p.busy)]
            total = sum(e.size for e, _ in waiting)
            aside: list[TrainingRun] = []
            for entry, other in waiting[:-1]:
                if total <= self.budget:
                    break
                other_run = other.run
                if other_run is not None and other.set_aside(notice(other_run)):
                    aside.append(other)
                    total -= entry.size
                    self._entries.remove(entry)
        return aside

    @property
    def size(self) -> int:
        """Bytes held by the paused runs recorded (those resumed since included)."""
        with self._guard:
            return sum(e.size for e in self._entries if e.live() is not None)
