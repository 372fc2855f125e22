"""Fair shares of the CPU per session, so that one visitor (or one script) cannot starve the others.

- One training-like job at a time (`JobLock`): training, fine-tuning, the label sweep and the race all take a
  session's one lock, so one session never holds both of the global MAX_RUNS places while others queue.
- A token bucket for the heavy inference endpoints (`Bucket`): the Inside view, the logit lens and Compare each
  run whole forward passes, and their events fire on every slider release. Each session may make INFERENCE_BURST
  such calls at once (a learner clicking through the heads of a layer) and INFERENCE_PER_MINUTE after that: one
  call is one forward pass of a model of at most a few hundred million parameters, about 0.2-1 s of one core on
  a 2-core CPU, so one session's sustained share stays near a quarter of one core however fast it sends.
  Compare costs one call per model it runs.

The bucket is keyed by Gradio's session id, so a reload starts a full bucket: it paces a page or a script's
client, not a host (a client making a new session for every call is limited by Gradio's queue, not here).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import UserError

INFERENCE_BURST = float(os.environ.get("PLAYGROUND_INFERENCE_BURST", 30))
INFERENCE_PER_MINUTE = float(os.environ.get("PLAYGROUND_INFERENCE_PER_MINUTE", 30))


class JobLock:
    """A session's one training-like job: a second one is refused at once with a sentence naming the first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # what the job running now is doing and how it is ended, in the words of the refusal
        self._doing = self._free = ""

    @contextmanager
    def hold(self, doing: str, free: str = "stop") -> Iterator[None]:
        """Run one job (`doing`: "training a model"); `free` says how the learner ends it ("pause or stop")."""
        if not self._lock.acquire(blocking=False):
            raise UserError(
                f"This session is already {self._doing or 'training'} (one training-like job at a time per "
                f"session); {self._free or 'stop'} it first, or wait for it to end."
            )
        self._doing, self._free = doing, free
        try:
            yield
        finally:
            self._doing = self._free = ""
            self._lock.release()


class Bucket:
    """A token bucket per key: `size` calls at once, refilled at `per_second`; `clock` is injectable for tests.
    Past `keys` keys kept, the full buckets are forgotten."""

    def __init__(self, size: float, per_second: float, clock: Callable[[], float] = time.monotonic, keys: int = 1024):
        self.size, self.per_second, self._clock, self._keys = size, per_second, clock, keys
        self._levels: dict[str, tuple[float, float]] = {}  # key -> (tokens left, when counted)
        self._lock = threading.Lock()
        self._prune_at = keys

    def take(self, key: str | None, cost: float = 1) -> None:
        """Spend `cost` tokens of `key`'s bucket, or refuse with the wait in a sentence. No key (a direct Python
        call: a test, the CLI) is not paced: every call through the server has a session id."""
        if key is None:
            return
        cost = min(cost, self.size)  # a call dearer than the whole bucket still runs when the bucket is full
        with self._lock:
            now = self._clock()
            tokens = self._level(key, now)
            if tokens < cost:
                wait = math.ceil((cost - tokens) / self.per_second)
                raise UserError(f"Too many requests from this page: wait {wait} second{'s' * (wait != 1)}.")
            self._levels[key] = (tokens - cost, now)
            self._prune(now)

    def _level(self, key: str, now: float) -> float:
        tokens, then = self._levels.get(key, (self.size, now))
        return min(self.size, tokens + (now - then) * self.per_second)

    def _prune(self, now: float) -> None:
        """A full bucket is the same as none: drop those once many keys are kept (sessions come and go)."""
        if len(self._levels) <= self._prune_at:
            return
        self._levels = {k: v for k, v in self._levels.items() if self._level(k, now) < self.size}
        self._prune_at = max(self._keys, 2 * len(self._levels))  # pruning stays rare under a flood


INFERENCE = Bucket(INFERENCE_BURST, INFERENCE_PER_MINUTE / 60)  # the heavy inference endpoints, all together
