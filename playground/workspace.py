"""Workspaces and their owners: the temp folders this app writes into, each naming the process that owns it, so
that start-up can remove the folders a dead process left behind (a crash or SIGKILL never runs `Session.close`).

A folder is orphaned only when its owner process is gone, never because it is old: two app processes on one host
share the temp directory, and an idle but live session of the other one must survive our start-up. A process is
named by its PID *and* its start time, because the kernel reuses PIDs: a new process that happens to get a dead
owner's PID does not keep that owner's folders alive (nor would it be hurt by their removal).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import psutil  # (installed with accelerate, which requirements.txt pins)

PREFIX = "playground-"
FOLDER_KINDS = ("session", "gradio")  # a browser session's workspace; a process's Gradio cache (its download zips)
OWNER_FILE = ".owner"  # {"pid": ..., "started": ...} of the owning process
SAME_START = 0.5  # seconds: psutil's start times of one process agree to far better than this


def make(kind: str, parent: str | Path | None = None) -> Path:
    """A new private folder `playground-<kind>-XXXX` in the temp dir (or `parent`) owned by this process."""
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-", dir=parent))
    _write_owner(folder)
    return folder


def own_gradio_cache() -> Path | None:
    """Gradio's cache folder when it is this process's own workspace (app.py makes it so), else None: a shared
    cache (/tmp/gradio, or a host's GRADIO_TEMP_DIR) may hold other processes' files, never ours to trim."""
    folder = os.environ.get("GRADIO_TEMP_DIR")
    if not folder or not Path(folder).name.startswith(f"{PREFIX}gradio-"):
        return None
    try:
        owner = json.loads((Path(folder) / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return Path(folder) if owner.get("pid") == os.getpid() else None


def sweep_orphans(parent: str | Path | None = None) -> list[Path]:
    """Remove the workspaces in the temp dir (or `parent`) whose owner process has died; returns them.

    A folder without a readable owner file is left alone: older versions of the app made them without one, and a
    folder is also briefly without one while `make` writes it. Either way nothing says whose it is, and guessing
    from its age is the very rule that deletes another process's live session (remove those by hand, once)."""
    root = Path(parent or tempfile.gettempdir())
    removed = []
    for kind in FOLDER_KINDS:
        for folder in root.glob(f"{PREFIX}{kind}-*"):
            if _mine_to_check(folder) and _owner_dead(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def alive(owner: dict) -> bool:
    """Whether the process an owner file names still runs (the same process: same PID and start time)."""
    try:
        process = psutil.Process(int(owner["pid"]))
        if process.status() == psutil.STATUS_ZOMBIE:  # exited, not yet reaped: it writes nothing any more
            return False
        return abs(process.create_time() - float(owner["started"])) < SAME_START
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's live process: not ours to judge dead
        return True


def _write_owner(folder: Path) -> None:
    """Written whole or not at all (a rename), so a sweeper never reads half an owner file."""
    tmp = folder / f"{OWNER_FILE}.tmp"
    tmp.write_text(json.dumps({"pid": os.getpid(), "started": psutil.Process().create_time()}))
    tmp.replace(folder / OWNER_FILE)


def _mine_to_check(folder: Path) -> bool:
    """A real folder of this user (the temp dir is shared: never follow a link, never try another user's)."""
    try:
        stat = folder.lstat()
    except OSError:
        return False
    return folder.is_dir() and not folder.is_symlink() and stat.st_uid == os.getuid()


def _owner_dead(folder: Path) -> bool:
    try:
        owner = json.loads((folder / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return False  # no owner file, or not ours to read: left alone (see sweep_orphans)
    try:
        return not alive(owner)
    except (TypeError, ValueError, KeyError):  # not an owner file of ours: nothing says whose it is
        return False
