"""Disk budgets (issue #25, items 1 and 2): a session keeps at most its budget, the oldest models not kept going
first; the server keeps at most its total and a floor of free space, trimming idle sessions first; what cannot
fit is refused with a sentence before anything is written. Tiny budgets, real folders."""

from __future__ import annotations

import time

import gradio as gr
import pytest

from playground import session
from playground.budget import Budget, folder_bytes, run_bytes
from playground.errors import UserError

MB = 1_000_000


@pytest.fixture(autouse=True)
def only_these_sessions(monkeypatch):
    """The server's total counts every session of the process: here only each test's own (the browser tests'
    app, in the same process, has sessions of its own, and Gradio's cache of the downloads it served: a test that
    needs a cache gives its own)."""
    from playground import workspace

    monkeypatch.setattr(session, "_sessions", {})
    monkeypatch.setattr(session, "_ids", {})
    monkeypatch.setattr(workspace, "own_gradio_cache", lambda: None)


def _model(own: session.Session, label: str, size: int = MB) -> str:
    """A checkpoint of `size` bytes in the session, laid out as a run saves one (its folder inside a run folder)."""
    folder = own.new_folder("train") / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"\0" * size)
    return own.add_checkpoint(folder, label)


def test_past_its_budget_a_session_loses_its_oldest_models_not_kept_and_says_which(sessions):
    own = sessions("budget-a")
    first, second, third = (_model(own, name) for name in ("my-gpt", "my-bert", "my-gpt"))
    own.keep(first)
    said = session.reserve(own, MB, Budget(session=int(3.5 * MB), total=10**12, free_floor=0))
    assert list(own.checkpoints) == [first, third]  # the oldest not kept went; the kept one stays
    assert second in said and "Keep" in said
    assert folder_bytes(own.folder) + MB <= 3.5 * MB


def test_an_artifact_larger_than_the_budget_is_refused_before_anything_is_removed(sessions):
    own = sessions("budget-b")
    name = _model(own, "my-gpt")
    with pytest.raises(UserError, match="more than the 2 MB a session may keep"):
        session.reserve(own, 3 * MB, Budget(session=2 * MB, total=10**12, free_floor=0))
    assert list(own.checkpoints) == [name]


def test_kept_models_that_fill_the_budget_are_never_removed(sessions):
    own = sessions("budget-c")
    kept = [_model(own, "my-gpt") for _ in range(2)]
    for name in kept:
        own.keep(name)
    with pytest.raises(UserError, match="kept models fill"):
        session.reserve(own, MB, Budget(session=int(2.5 * MB), total=10**12, free_floor=0))
    assert list(own.checkpoints) == kept


def test_the_server_trims_idle_sessions_first_the_least_recently_used_first(sessions):
    gone, idle, active, me = (sessions(f"budget-{x}") for x in ("gone", "idle", "active", "me"))
    for own in (gone, idle, active):
        _model(own, "my-gpt")
    gone.left_at = time.monotonic()  # its page went away: trimmed before any session with a page
    idle.last_used, active.last_used = time.monotonic() - 2 * session.IDLE_TRIM_SECONDS, time.monotonic()
    budget = Budget(session=10 * MB, total=int(3.5 * MB), free_floor=0)  # three 1 MB models and 1 MB: one goes
    said = session.reserve(me, MB, budget)
    assert not gone.checkpoints and idle.checkpoints and active.checkpoints
    assert "1 idle model" in said
    session.reserve(me, 2 * MB, budget)
    assert not idle.checkpoints and active.checkpoints  # next, the least recently used
    with pytest.raises(UserError, match="server is full"):  # a session in use is never trimmed for another
        session.reserve(me, 3 * MB, budget)
    assert active.checkpoints


def test_when_nothing_more_can_go_new_work_is_refused_with_a_sentence(sessions, monkeypatch):
    other, me = sessions("budget-other"), sessions("budget-me")
    other.keep(_model(other, "my-gpt"))
    other.left_at = time.monotonic()  # idle, but its model is kept
    with pytest.raises(UserError, match="server is full"):
        session.reserve(me, MB, Budget(session=10 * MB, total=int(1.5 * MB), free_floor=0))
    # and the free-space floor: a fake disk (a test cannot fill the real one) with 2 MB free, 1 MB kept free
    monkeypatch.setattr(session, "free_bytes", lambda folder: 2 * MB)
    budget = Budget(session=10 * MB, total=10**12, free_floor=MB)
    session.reserve(me, MB, budget)  # 2 MB free - 1 MB = the floor: fits
    with pytest.raises(UserError, match="server is full"):
        session.reserve(me, MB + 1, budget)


def test_the_train_tab_refuses_a_model_too_large_for_the_session_before_writing(sessions, monkeypatch):
    from playground.ui import train as tab

    monkeypatch.setattr(tab, "BUDGET", Budget(session=50 * MB, total=10**12, free_floor=0))
    form = tab.TrainForm(list(tab.OBJECTIVES)[0], list(tab.CORPORA)[0], "", 20, 1, n_layer=8, n_embd=512)
    with pytest.raises(UserError, match="choose a smaller model"):
        tab._start(form, "budget-tab")
    own = sessions("budget-tab")
    assert own.training.run is None
    assert not [f for f in own.folder.rglob("*") if f.name != ".owner"]  # nothing written (but the owner's name)


def test_a_runs_bound_covers_what_a_saved_run_writes(sessions, tmp_path):
    """The bound `reserve` is asked for is at least what the tab's run really leaves: its model, zip, timeline."""
    from playground.ui import train as tab

    form = tab.TrainForm(list(tab.OBJECTIVES)[0], list(tab.CORPORA)[0], "", 30, 1, samples=2)
    for _ in tab._train(form, gr.Request(session_hash="budget-run"), None):
        pass
    own = sessions("budget-run")
    (name,) = own.checkpoints
    own.zip_of(name)
    parameters = tab.count_parameters(form.config(), 70)  # tinyshakespeare's 65 characters and the specials
    assert folder_bytes(own.folder) <= run_bytes(parameters)


def test_the_keep_box_marks_the_chosen_model_and_says_when_there_is_none(sessions):
    from playground.ui import train as tab

    own = sessions("budget-keep")
    first, second = _model(own, "my-gpt"), _model(own, "my-gpt")
    req = gr.Request(session_hash="budget-keep")
    assert tab.keep_model(first, True, req) is True and tab.is_kept(first, req) and not tab.is_kept(second, req)
    session.reserve(own, MB, Budget(session=int(2.5 * MB), total=10**12, free_floor=0))
    assert list(own.checkpoints) == [first]  # the kept one stayed, though older
    with pytest.raises(gr.Error, match="Choose one of this session's models"):
        tab.keep_model("", True, req)


def test_gradios_copies_of_served_zips_go_before_anyones_models_the_oldest_first(sessions, monkeypatch, tmp_path):
    """Gradio copies every zip it serves into its cache (this process's own, app.py makes it so): counted in the
    total, and trimmed first. A temp folder stands in for that cache."""
    import os

    from playground import workspace

    other, me = sessions("budget-cache-other"), sessions("budget-cache-me")
    _model(other, "my-gpt")
    other.left_at = time.monotonic()  # idle: its model could go, but Gradio's copies go first
    cache = tmp_path / "cache"
    for age, name in enumerate(("old.zip", "new.zip")):
        (cache / name).parent.mkdir(exist_ok=True)
        (cache / name).write_bytes(b"\0" * MB)
        os.utime(cache / name, (age, age))  # (ctime follows the write order too)
        time.sleep(0.01)
    monkeypatch.setattr(workspace, "own_gradio_cache", lambda: cache)
    monkeypatch.setattr(session, "DOWNLOAD_SECONDS", 0)  # both copies count as old here (the next test spares them)
    session.reserve(me, MB, Budget(session=10 * MB, total=int(3.5 * MB), free_floor=0))  # 3 MB used + 1 MB: 0.5 over
    assert not (cache / "old.zip").exists() and (cache / "new.zip").exists()
    assert other.checkpoints  # no visitor's model went


def test_a_download_gradio_just_copied_is_spared_so_its_button_still_works(sessions, monkeypatch, tmp_path):
    """The soak found a zip trimmed between the run's end and the page's click on its button (a 403): a copy
    younger than DOWNLOAD_SECONDS stays; an idle visitor's model goes instead."""
    from playground import workspace

    other, me = sessions("budget-fresh-other"), sessions("budget-fresh-me")
    _model(other, "my-gpt")
    other.left_at = time.monotonic()
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "just-served.zip").write_bytes(b"\0" * MB)
    monkeypatch.setattr(workspace, "own_gradio_cache", lambda: cache)
    said = session.reserve(me, MB, Budget(session=10 * MB, total=int(2.5 * MB), free_floor=0))
    assert (cache / "just-served.zip").exists()
    assert not other.checkpoints and "idle model(s) of other visitors were removed" in said


def test_trimming_goes_oldest_first_and_spares_fresh_files(tmp_path):
    from playground.budget import trim_files

    for name in (".owner", "a", "b"):  # written in this order: change times ascending
        (tmp_path / name).write_bytes(b"\0" * 10)
        time.sleep(0.01)
    assert trim_files(tmp_path, 100, spare_seconds=60) == 0  # all fresh: nothing goes
    assert trim_files(tmp_path, 5) == 10 and not (tmp_path / "a").exists() and (tmp_path / "b").exists()
    assert (tmp_path / ".owner").exists()  # never an owner file


def test_two_runs_at_once_cannot_both_take_the_same_free_room(sessions):
    """A reservation counts for the others until its job has written it: the second run is refused (or trims)
    though nothing is on disk yet."""
    first, second = sessions("budget-first"), sessions("budget-second")
    budget = Budget(session=10 * MB, total=int(1.5 * MB), free_floor=0)
    with first.writing():
        session.reserve(first, MB, budget)  # nothing written yet
        with pytest.raises(UserError, match="server is full"):
            session.reserve(second, MB, budget)
    session.reserve(second, MB, budget)  # the first job ended (having written nothing): room again
