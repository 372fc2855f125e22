"""A size-bounded LRU of loaded models: one entry per key, loaded once, evicted least recently used first.

Each entry has its own lock, so two requests for one model load it once while requests for other models go
on; the cache's own lock guards only its dictionary and is never held while a model is read or built.
Pinned entries (the bundled models) are never evicted and not counted against the budget. A model larger
than the whole budget still loads, and evicts every unpinned one. Eviction only drops the cache's reference:
a request still using the model keeps it alive until it ends, then Python frees it.
"""

from __future__ import annotations

import gc
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import torch

T = TypeVar("T")

# A free CPU Space has 16 GB. 6 GB of models leaves room for the rest: the process with torch and gradio
# (~1.5 GB), two training runs (30 M parameters with gradients and Adam: ~0.5 GB each, plus activations), a
# packaged GGUF's one-time conversion (up to 3.3 GB at its peak), and a model loading while an evicted one
# still serves the requests that hold it (one more model, at most PLAYGROUND_MAX_MODEL_BYTES).
DEFAULT_BUDGET_BYTES = 6e9
BUDGET_BYTES = int(float(os.environ.get("PLAYGROUND_MODEL_CACHE_BYTES", DEFAULT_BUDGET_BYTES)))


def module_bytes(module: torch.nn.Module) -> int:
    """Bytes of a module's parameters and buffers (tied weights counted once)."""
    return tensor_bytes([*module.parameters(), *module.buffers()])


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


@dataclass(eq=False)
class _Entry(Generic[T]):
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while this entry loads
    value: T | None = None  # None until loaded
    size: int = 0
    pinned: bool = False
    dropped: bool = False  # dropped while it loaded: the value is handed out but not kept


class ModelCache(Generic[T]):
    """`get(key, load)` returns the value for `key`, calling `load()` once (per entry) to make it.

    `size_of` measures a value (e.g. bytes of parameters); the unpinned values' sizes add up to at most
    `budget`, except while the newest value alone exceeds it.
    """

    def __init__(self, budget: int, size_of: Callable[[T], int]):
        self.budget = budget
        self._size_of = size_of
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()  # least recently used first
        self._guard = threading.Lock()  # the dictionary only: never held while loading

    def get(self, key: Hashable, load: Callable[[], T], pinned: bool = False) -> T:
        with self._guard:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(pinned=pinned)
            elif entry.value is not None:
                self._entries.move_to_end(key)
                return entry.value
        with entry.lock:  # other keys are not held up: each entry has its own lock
            if entry.value is not None:  # loaded by the request we waited for
                return entry.value
            try:
                value = load()
            except BaseException:
                with self._guard:  # a failed load leaves nothing behind (a bad id must not grow the dict)
                    if self._entries.get(key) is entry:
                        del self._entries[key]
                raise
            size = self._size_of(value)
            with self._guard:
                if entry.dropped:
                    return value
                entry.value, entry.size = value, size
                self._entries[key] = entry  # back in, if a failed load of another thread took it out
                self._entries.move_to_end(key)
                evicted = self._evict(keep=key)
        if evicted:
            gc.collect()  # the dropped models' reference cycles go now, not at some later collection
        return value

    def drop(self, key: Hashable) -> bool:
        """Forget one entry (e.g. its files were deleted); whether it was there."""
        with self._guard:
            entry = self._entries.pop(key, None)
            if entry is not None:
                entry.dropped = True
        if entry is not None and entry.value is not None:
            gc.collect()
        return entry is not None

    def __contains__(self, key: Hashable) -> bool:
        with self._guard:
            entry = self._entries.get(key)
            return entry is not None and entry.value is not None

    def keys(self) -> list[Hashable]:
        """The loaded keys, least recently used first."""
        with self._guard:
            return [key for key, entry in self._entries.items() if entry.value is not None]

    @property
    def size(self) -> int:
        """The unpinned values' total size: what the budget bounds."""
        with self._guard:
            return self._unpinned_size()

    def _unpinned_size(self) -> int:
        return sum(e.size for e in self._entries.values() if not e.pinned and e.value is not None)

    def _evict(self, keep: Hashable) -> int:
        """Drop least recently used unpinned values until the rest fits the budget (`keep` stays); how many."""
        total, evicted = self._unpinned_size(), 0
        for key in list(self._entries):
            if total <= self.budget:
                break
            entry = self._entries[key]
            if key == keep or entry.pinned or entry.value is None:
                continue
            del self._entries[key]
            entry.dropped = True
            total -= entry.size
            evicted += 1
        return evicted
