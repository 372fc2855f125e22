"""All sessions' paused runs (pre-training and fine-tuning) share one memory budget.

A paused run keeps its model(s), gradients and the optimizers' state (Adam: two moments per weight) until its
page resumes or stops it, or its session ends, which can be hours: up to 0.5 GB for our largest tiny model, about
0.55 GB for the encoder fine-tuned whole, over 3 GB for SmolLM2. Many pages each pausing one could exhaust the
Space, so past the budget the longest-paused runs of other sessions are stopped where they stand, as Stop would:
what they learned is saved like a finished run, and their page says why the next time it is used. A run larger
than the whole budget still pauses, alone.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

PAUSED_BYTES = int(float(os.environ.get("PLAYGROUND_PAUSED_BYTES", 2e9)))


class Pausable(Protocol):
    """A session's run as the budget sees it (tiny.run.TrainingRun)."""

    run: Any  # its Trainer (held_bytes()), None once saved or dropped

    @property
    def busy(self) -> bool: ...

    def set_aside(self, notice: str) -> bool: ...


@dataclass(eq=False)
class _Paused:
    part: weakref.ref[Pausable]  # (weak: a closed session's run is not kept alive by this list)
    run: weakref.ref[Any]  # the Trainer as it paused: once the part holds another run or none, the entry is stale
    size: int

    def live(self) -> Pausable | None:
        """The part, while it still holds this paused run (it may have resumed: then it is busy)."""
        part = self.part()
        return part if part is not None and part.run is not None and part.run is self.run() else None


class PausedRuns:
    """`paused(part)` records a part that has just paused and stops others' longest-paused runs past the budget."""

    def __init__(self, budget: int):
        self.budget = budget
        self._entries: list[_Paused] = []  # longest paused first
        self._guard = threading.Lock()

    def paused(self, part: Pausable, notice: Callable[[Any], str]) -> list[Pausable]:
        """`part` (holding its run) has just paused: record it, then set aside other parts' paused runs, longest
        paused first, until what is paused fits the budget; each is told `notice(its run)`. Returns those set
        aside. A run that resumed is not counted (a running run holds one of the limited training places)."""
        run = part.run
        assert run is not None
        with self._guard:
            self._entries = [e for e in self._entries if e.live() not in (None, part)]
            self._entries.append(_Paused(weakref.ref(part), weakref.ref(run), run.held_bytes()))
            waiting = [(e, p) for e in self._entries if (p := e.live()) is not None and (p is part or not p.busy)]
            total = sum(e.size for e, _ in waiting)
            aside: list[Pausable] = []
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


PAUSED = PausedRuns(PAUSED_BYTES)  # the process's: every session's
