"""Per-browser-session workspaces: the checkpoints a session trained or uploaded, and its tokenizers.

Keyed by Gradio's session hash, so one session can only ever name its own files: the UI looks
names up in the caller's workspace, never by path. Each workspace owns a private temp folder
that `release` deletes (with the models loaded from it) when the browser session ends.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import PreTrainedTokenizerFast

from .tiny.checkpoint import read_config

SUFFIX = " · this session"  # marks a session's own models in the dropdowns
# a browser's workspace goes when its tab closes (unload); an API client may never say goodbye, so a
# workspace untouched this long is released too (far longer than the longest training run)
IDLE_SECONDS = float(os.environ.get("PLAYGROUND_SESSION_IDLE_SECONDS", 6 * 3600))


@dataclass
class Workspace:
    folder: Path  # private temp folder: checkpoints, uploads, downloads
    checkpoints: dict[str, Path] = field(default_factory=dict)  # dropdown name -> checkpoint folder
    tokenizers: dict[str, PreTrainedTokenizerFast] = field(default_factory=dict)  # name -> trained tokenizer
    runs: int = 0  # how many checkpoints were added, for the next default name
    last_used: float = field(default_factory=time.monotonic)

    def new_folder(self, prefix: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.folder))

    def add_checkpoint(self, folder: Path, label: str) -> str:
        """Register a checkpoint folder under a unique dropdown name; returns that name."""
        self.runs += 1
        base = re.sub(r"[^\w.-]+", "-", label).strip("-") or "model"
        name = f"{base}-{self.runs}{SUFFIX}"
        self.checkpoints[name] = Path(folder)
        return name

    def checkpoint_tasks(self, name: str) -> tuple[str, ...]:
        return tasks_of(self.checkpoints[name])


def tasks_of(folder: Path) -> tuple[str, ...]:
    """Which model tabs a tiny checkpoint can serve: its config says causal or masked, and whether NSP."""
    config, _ = read_config(folder)
    if config.causal:
        return ("causal",)
    return ("masked", "nsp") if "nsp" in config.heads else ("masked",)


_workspaces: dict[str, Workspace] = {}
_lock = threading.Lock()


def get(session_id: str | None) -> Workspace:
    """The workspace of a session, created on first use ("cli" when there is no browser session)."""
    key = session_id or "cli"
    with _lock:
        if key not in _workspaces:
            _workspaces[key] = Workspace(Path(tempfile.mkdtemp(prefix="playground-session-")))
        ws = _workspaces[key]
        ws.last_used = now = time.monotonic()
        idle = [k for k, other in _workspaces.items() if now - other.last_used > IDLE_SECONDS]
    for k in idle:
        release(k)
    return ws


def peek(session_id: str | None) -> Workspace | None:
    """The workspace if the session has one; never creates a folder."""
    with _lock:
        ws = _workspaces.get(session_id or "cli")
        if ws is not None:
            ws.last_used = time.monotonic()
        return ws


def release(session_id: str | None) -> None:
    """Forget a session: unload its models and delete its folder."""
    from . import registry  # registry imports this module

    with _lock:
        ws = _workspaces.pop(session_id or "cli", None)
    if ws is None:
        return
    for folder in ws.checkpoints.values():
        registry.forget(folder)
    shutil.rmtree(ws.folder, ignore_errors=True)


def count() -> int:
    with _lock:
        return len(_workspaces)
