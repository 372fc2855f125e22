"""Per-browser-session workspaces: the checkpoints a session trained or uploaded, and its tokenizers.

Keyed by Gradio's session hash, so one session can only ever name its own files: the UI looks
names up in the caller's workspace, never by path. Each workspace owns a private temp folder
that `release` deletes (with the models loaded from it).

A reload starts a new session hash. So that a learner's work survives it, each workspace has an
unguessable token which the browser keeps (the page stores it in its own localStorage); the new page
hands it back and `attach` joins the new session to that workspace. When a page goes (`leave`), its
workspace waits GRACE_SECONDS for a reload before it is released.
"""

from __future__ import annotations

import os
import re
import secrets
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
# how long a workspace whose pages all went away waits for a reload (or the same page opened again)
GRACE_SECONDS = float(os.environ.get("PLAYGROUND_SESSION_GRACE_SECONDS", 15 * 60))


@dataclass
class Workspace:
    folder: Path  # private temp folder: checkpoints, uploads, downloads
    checkpoints: dict[str, Path] = field(default_factory=dict)  # dropdown name -> checkpoint folder
    tokenizers: dict[str, PreTrainedTokenizerFast] = field(default_factory=dict)  # name -> trained tokenizer
    runs: int = 0  # how many checkpoints were added, for the next default name
    last_used: float = field(default_factory=time.monotonic)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # only its own browser knows it
    left_at: float | None = None  # when its last page went away; None while a page has it

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


_workspaces: dict[str, Workspace] = {}  # token -> workspace
_sessions: dict[str, str] = {}  # session id -> token of its workspace (a reload adds a second id)
_lock = threading.Lock()


def get(session_id: str | None) -> Workspace:
    """The workspace of a session, created on first use ("cli" when there is no browser session)."""
    key = session_id or "cli"
    with _lock:
        ws = _workspaces.get(_sessions.get(key, ""))
        if ws is None:
            ws = Workspace(Path(tempfile.mkdtemp(prefix="playground-session-")))
            _workspaces[ws.token] = ws
            _sessions[key] = ws.token
        ws.last_used = now = time.monotonic()
        expired = _expired(now)
    for other in expired:
        _delete(other)
    return ws


def peek(session_id: str | None) -> Workspace | None:
    """The workspace if the session has one; never creates a folder."""
    with _lock:
        ws = _workspaces.get(_sessions.get(session_id or "cli", ""))
        if ws is not None:
            ws.last_used = time.monotonic()
        return ws


def attach(session_id: str, token: str | None) -> str:
    """A reloaded page hands back its workspace's token: the session joins that workspace (if it is still
    kept) and the token to keep is returned. An unknown or expired token gives the session its own."""
    with _lock:
        ws = _workspaces.get(token or "")
        if ws is not None:
            previous = _sessions.get(session_id)
            _sessions[session_id] = ws.token
            ws.last_used, ws.left_at = time.monotonic(), None
            if previous and previous != ws.token and previous in _workspaces:
                _park(_workspaces[previous])  # made by this page's first events before it attached: no work yet
            return ws.token
    return get(session_id).token


def leave(session_id: str | None) -> None:
    """A page went away (closed or reloading): its workspace is released GRACE_SECONDS after its last page
    left, unless a reload attaches to it first."""
    with _lock:
        token = _sessions.pop(session_id or "cli", None)
        if token in _workspaces:
            _park(_workspaces[token])
    timer = threading.Timer(GRACE_SECONDS + 1, sweep)
    timer.daemon = True
    timer.start()


def sweep() -> None:
    """Release the workspaces whose grace period or idle limit has passed."""
    with _lock:
        expired = _expired(time.monotonic())
    for ws in expired:
        _delete(ws)


def release(session_id: str | None) -> None:
    """Forget a session's workspace now: unload its models and delete its folder."""
    with _lock:
        ws = _workspaces.get(_sessions.get(session_id or "cli", ""))
        if ws is None:
            return
        _forget(ws)
    _delete(ws)


def count() -> int:
    with _lock:
        return len(_workspaces)


def _park(ws: Workspace) -> None:
    """(under the lock) Start the grace period of a workspace no page has any more."""
    if ws.token not in _sessions.values():
        ws.left_at = time.monotonic()


def _expired(now: float) -> list[Workspace]:
    """(under the lock) Take out the workspaces past their grace period or idle limit."""
    gone = [
        ws
        for ws in _workspaces.values()
        if now - ws.last_used > IDLE_SECONDS or (ws.left_at is not None and now - ws.left_at > GRACE_SECONDS)
    ]
    for ws in gone:
        _forget(ws)
    return gone


def _forget(ws: Workspace) -> None:
    """(under the lock) Drop a workspace and every session id that names it."""
    _workspaces.pop(ws.token, None)
    for key in [k for k, token in _sessions.items() if token == ws.token]:
        del _sessions[key]


def _delete(ws: Workspace) -> None:
    from . import registry  # registry imports this module

    for folder in ws.checkpoints.values():
        registry.forget(folder)
    shutil.rmtree(ws.folder, ignore_errors=True)
