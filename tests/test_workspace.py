"""Cleanup after a crash: a workspace whose owner process died is removed at start-up, a live one never is.

Every test sweeps its own tmp_path, never the real temp dir (another process's live sessions are there)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import psutil

from playground import workspace


def _own(folder: Path, pid: int, started: float) -> Path:
    (folder / workspace.OWNER_FILE).write_text(json.dumps({"pid": pid, "started": started}))
    return folder


def _dead_pid() -> int:
    """The PID of a process that has ended and been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_workspace_names_this_process_as_its_owner(tmp_path):
    folder = workspace.make("session", tmp_path)
    owner = json.loads((folder / workspace.OWNER_FILE).read_text())
    assert folder.name.startswith("playground-session-")
    assert owner == {"pid": os.getpid(), "started": psutil.Process().create_time()}
    assert workspace.alive(owner)


def test_a_workspace_whose_owner_died_is_removed(tmp_path):
    session = _own(workspace.make("session", tmp_path), _dead_pid(), 1.0)
    cache = _own(workspace.make("gradio", tmp_path), _dead_pid(), 1.0)  # Gradio's cache of that process: its zips
    (cache / "zip").mkdir()
    (cache / "zip" / "my-gpt-1.zip").write_bytes(b"PK")
    assert sorted(workspace.sweep_orphans(tmp_path)) == sorted([session, cache])
    assert not session.exists() and not cache.exists()


def test_this_process_s_workspace_is_kept(tmp_path):
    folder = workspace.make("session", tmp_path)
    assert workspace.sweep_orphans(tmp_path) == []
    assert folder.is_dir()


def test_a_live_other_process_s_workspace_is_kept(tmp_path):
    """Two app processes on one host: neither start-up deletes the other's live sessions, however old."""
    other = subprocess.Popen(["sleep", "30"])
    try:
        folder = _own(workspace.make("session", tmp_path), other.pid, psutil.Process(other.pid).create_time())
        os.utime(folder, (0, 0))  # untouched since 1970: age alone never condemns a folder
        assert workspace.sweep_orphans(tmp_path) == []
        assert folder.is_dir()
    finally:
        other.kill()
        other.wait()
    assert workspace.sweep_orphans(tmp_path) == [folder]  # its owner gone, it goes


def test_a_reused_pid_with_another_start_time_counts_as_dead(tmp_path):
    started = psutil.Process().create_time()
    folder = _own(workspace.make("session", tmp_path), os.getpid(), started - 1000)  # our PID, an older process
    assert workspace.sweep_orphans(tmp_path) == [folder]


def test_folders_without_a_readable_owner_are_left_alone(tmp_path):
    """An older version's workspace (no owner file) or a garbled one: nothing says whose it is."""
    legacy = tmp_path / "playground-session-legacy"
    legacy.mkdir()
    garbled = workspace.make("session", tmp_path)
    (garbled / workspace.OWNER_FILE).write_text('{"pid": "not a number"')
    wrong = workspace.make("session", tmp_path)
    (wrong / workspace.OWNER_FILE).write_text('{"pid": "x", "started": 1}')
    other = tmp_path / "someone-else-123"  # not ours by name
    other.mkdir()
    assert workspace.sweep_orphans(tmp_path) == []
    assert all(f.is_dir() for f in (legacy, garbled, wrong, other))


def test_a_link_is_never_followed(tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    _own(target, _dead_pid(), 1.0)
    (tmp_path / "playground-session-link").symlink_to(target)
    workspace.sweep_orphans(tmp_path)
    assert (target / "keep.txt").exists()
