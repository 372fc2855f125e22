"""Disk budgets: how much one browser session, and all of them together, may keep on disk (issue #25).

A Space is one process on one disk, shared by everyone who opens the link; each training run writes its model,
the model's zip and its timeline's snapshots. The numbers (environment variables; the README's "Limits"):

- PLAYGROUND_SESSION_BYTES, 1.5 GB: three runs of the largest model the Train tab allows (each at most 460 MB:
  30 M float32 parameters are 120 MB, its timeline up to 100 MB, its zip both again), or hundreds of small ones.
- PLAYGROUND_TOTAL_BYTES, 20 GB: of a Space's 50 GB disk, what is left after the app, its packages and model
  caches (about 10 GB) and a 20 GB margin: a dozen sessions at their full budget at once, more as idle ones
  are trimmed.
- PLAYGROUND_FREE_BYTES, 3 GB: free space never written into, whatever the totals say (the disk holds more
  than our folders), so nothing we write meets a full disk.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .tiny.timeline import MAX_BYTES as TIMELINE_BYTES

GB = 1_000_000_000
TOKENIZER_BYTES = 20_000_000  # a tokenizer file and the small files around the weights, at most


@dataclass(frozen=True)
class Budget:
    session: int = int(1.5 * GB)
    total: int = 20 * GB
    free_floor: int = 3 * GB

    @classmethod
    def from_env(cls) -> Budget:
        d = cls()
        return cls(
            session=int(float(os.environ.get("PLAYGROUND_SESSION_BYTES") or d.session)),
            total=int(float(os.environ.get("PLAYGROUND_TOTAL_BYTES") or d.total)),
            free_floor=int(float(os.environ.get("PLAYGROUND_FREE_BYTES") or d.free_floor)),
        )


def run_bytes(parameters: int, timeline: bool = True) -> int:
    """An upper bound on what one saved run of `parameters` puts in its session's workspace: float32 weights and
    the timeline's snapshots, twice (the zip for download holds both, weights stored as they are), and the
    tokenizer."""
    return 2 * zip_bytes(parameters, timeline) + TOKENIZER_BYTES


def zip_bytes(parameters: int, timeline: bool = True) -> int:
    """An upper bound on a saved run's zip: Gradio serves a copy of it from its own cache, outside the workspace."""
    return 4 * parameters + (TIMELINE_BYTES if timeline else 0)


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under `folder` (0 when it is gone)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:  # removed meanwhile
                pass
    return total


def trim_files(folder: Path, excess: int, spare_seconds: float = 0.0) -> int:
    """Delete the oldest files under `folder` (by change time) until `excess` bytes are gone; the bytes freed.
    Files changed in the last `spare_seconds` stay (a page is about to fetch a download just copied there)."""
    newest = time.time() - spare_seconds
    files = []
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            try:
                files.append((path.lstat().st_ctime, path.lstat().st_size, path))
            except OSError:
                pass
    freed = 0
    for changed, size, path in sorted(files):
        if freed >= excess:
            break
        if path.name.startswith(".") or changed > newest:  # the owner file, a copy being written; a fresh one
            continue
        path.unlink(missing_ok=True)
        freed += size
    return freed


def free_bytes(folder: Path) -> int:
    """Free space on the disk that holds `folder` (a test replaces this: it cannot fill a real disk)."""
    return shutil.disk_usage(folder).free


def megabytes(n: int) -> str:
    return f"{n / GB:,.1f} GB" if n >= GB else f"{n / 1e6:,.0f} MB"
