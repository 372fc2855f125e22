"""What ties the tabs together per browser session: a tokenizer trained in one tab is offered in
another, dropdowns learn a session's checkpoints, and a session's files go when it ends."""

import shutil
from types import SimpleNamespace

from playground import session
from playground.bundled import bundled_path
from playground.ui import build_demo, common
from playground.ui import tokenizer as tokenizer_tab

from .narrow import present


def request(sid: str):
    return SimpleNamespace(session_hash=sid)  # what the handlers read of gr.Request


def _closed(sessions, sid: str) -> str:
    """A session id that the `sessions` fixture closes after the test (attach may give it a Session)."""
    return sessions(sid, create=False)


def test_a_tokenizer_trained_in_the_tokenizer_tab_lands_in_that_sessions_workspace(sessions):
    text = "the cat sat on the mat. " * 200
    tokenizer_tab.train(
        "paste text", None, text, "BPE (byte-level, like GPT-2)", 300, "the cat", [], request("tok-session")
    )
    ((name, trained),) = sessions("tok-session").tokenizers.items()
    assert name.startswith("bpe · ") and trained("the cat").input_ids
    assert set(sessions("tok-session").trained) == {"bpe"}  # the replay's tokenizer lives in the same Session
    assert not sessions("other-session").tokenizers and not sessions("other-session").trained


def test_opening_a_tab_offers_the_sessions_own_checkpoints_in_every_model_dropdown(sessions):
    pickers = common.page_of(build_demo()).pickers  # every model picker of that demo
    ws = sessions("picker-session")
    name = ws.add_checkpoint(shutil.copytree(bundled_path("tiny-shakespeare-gpt"), ws.new_folder("c") / "m"), "my gpt")
    values = [dropdown.value for dropdown, _ in pickers]
    updates = common.refresh_pickers(pickers, request("picker-session"), *values)
    # each picker keeps its value (and the deep link it); an empty one is left out of the update
    assert [update.get("value") for update in updates] == [value or None for value in values]
    offered = [update["choices"] for update in updates]
    assert any(name in [c if isinstance(c, str) else c[0] for c in choices] for choices in offered)
    elsewhere = common.refresh_pickers(pickers, request("a-stranger"), *values)
    assert not any(name in str(update["choices"]) for update in elsewhere)
    folder = ws.folder
    session.release("picker-session")
    assert not folder.exists()


def test_two_demos_in_one_process_keep_their_own_pickers_and_page_loads():
    first = build_demo()
    mine = [dropdown for dropdown, _ in common.page_of(first).pickers]
    second = build_demo()  # (build_demo once cleared a process-wide list: the first demo lost its pickers)
    assert [dropdown for dropdown, _ in common.page_of(first).pickers] == mine
    for demo in (first, second):
        page = common.page_of(demo)
        assert page.pickers and page.loads
        assert all(dropdown._id in demo.blocks for dropdown, _ in page.pickers)
        # opening a tab refreshes that demo's own pickers, none of the other's
        refreshes = [f for f in demo.fns.values() if f.fn and f.fn.__name__ == "refresh" and f.inputs]
        assert refreshes and all([b._id for b in f.inputs] == [d._id for d, _ in page.pickers] for f in refreshes)
    assert not {id(d) for d, _ in common.page_of(first).pickers} & {id(d) for d, _ in common.page_of(second).pickers}


def test_the_positional_tab_reads_the_learned_table_of_a_sessions_own_checkpoint(sessions):
    from gradio import Error

    from playground.ui import positional as positional_tab

    ws = sessions("pe-session")
    gpt = ws.add_checkpoint(shutil.copytree(bundled_path("tiny-shakespeare-gpt"), ws.new_folder("c") / "m"), "gpt")
    bert = ws.add_checkpoint(shutil.copytree(bundled_path("tiny-shakespeare-bert"), ws.new_folder("c") / "m"), "bert")
    assert {gpt, bert} <= set(positional_tab.learned_choices("pe-session"))
    heat, _ = positional_tab.learned_views(gpt, "2-D", request("pe-session"))
    assert heat.data[0].z.shape == (128, 192)  # context × width of the bundled GPT
    try:
        positional_tab.learned_views(bert, "2-D", request("pe-session"))
        raise AssertionError("a rotary model has no learned table")
    except Error as err:
        assert "rotary positions" in str(err)


def test_a_table_is_written_as_csv_into_the_sessions_own_folder(sessions):
    path = common.csv_download(["token", "p"], [["fox", 0.5], ['a "quoted", token', 0.25]], "t", request("csv-session"))
    assert path.startswith(str(sessions("csv-session").folder))
    assert open(path).read().splitlines() == ["token,p", "fox,0.5", '"a ""quoted"", token",0.25']


def test_a_workspace_nobody_used_for_the_idle_limit_is_released(monkeypatch, sessions):
    # an API client may never disconnect; its files must not stay forever
    old = sessions("idle-session")
    folder = old.folder
    monkeypatch.setattr(session, "IDLE_SECONDS", 3600.0)  # no other test's session is that old
    old.last_used -= 3601
    sessions("busy-session")  # any later use sweeps
    assert session.peek("idle-session") is None and not folder.exists()
    assert session.peek("busy-session") is not None
    session.release("busy-session")


def test_a_reloaded_page_finds_its_work_again(sessions):
    # the first page: its workspace gets a token that the browser keeps (gr.BrowserState)
    ws = sessions("page-before-reload")
    ws.tokenizers["bpe · 300 tokens"] = object()
    token = session.attach(_closed(sessions, "page-before-reload"), None)
    assert token == ws.token and len(token) >= 40  # unguessable
    session.leave("page-before-reload")  # the reload unloads the old page...
    assert session.peek("page-before-reload") is None and ws.folder.exists()  # ...but the work waits
    assert session.attach(_closed(sessions, "page-after-reload"), token) == token  # the new page hands the token back
    assert present(session.peek("page-after-reload")) is ws and "bpe · 300 tokens" in ws.tokenizers
    session.release("page-after-reload")
    assert not ws.folder.exists()


def test_a_workspace_no_page_came_back_to_is_released_after_the_grace_period(monkeypatch, sessions):
    ws = sessions("closed-page")
    token = ws.token
    session.leave("closed-page")
    monkeypatch.setattr(session, "GRACE_SECONDS", 0.0)
    session.close_expired()
    assert not ws.folder.exists()
    assert session.attach(_closed(sessions, "late-page"), token) != token  # too late: a fresh workspace
    session.release("late-page")


def test_no_browser_can_name_another_browsers_workspace(sessions):
    mine = sessions("owner-page")
    mine.tokenizers["mine"] = object()
    for guess in ("owner-page", "", None, mine.token[:-1], "cli"):
        token = session.attach(_closed(sessions, "stranger-page"), guess)
        assert token != mine.token and "mine" not in present(session.peek("stranger-page")).tokenizers
    session.release("owner-page")
    session.release("stranger-page")


def test_two_tabs_of_one_browser_share_the_work_and_closing_one_keeps_it(monkeypatch, sessions):
    ws = sessions("tab-a")
    session.attach(_closed(sessions, "tab-b"), ws.token)  # the second tab reads the same token from the browser
    assert session.peek("tab-b") is ws
    session.leave("tab-a")
    monkeypatch.setattr(session, "GRACE_SECONDS", 0.0)
    session.close_expired()
    assert present(session.peek("tab-b")) is ws and ws.folder.exists()  # tab b still has it
    session.release("tab-b")


def test_the_first_events_workspace_of_a_reloaded_page_gives_way_to_the_kept_one(monkeypatch, sessions):
    kept = sessions("old-page")
    session.leave("old-page")
    early = sessions("new-page")  # e.g. a table's CSV written before the page attached
    assert session.attach(_closed(sessions, "new-page"), kept.token) == kept.token
    assert present(session.peek("new-page")) is kept
    monkeypatch.setattr(session, "GRACE_SECONDS", 0.0)
    session.close_expired()
    assert not early.folder.exists() and kept.folder.exists()
    session.release("new-page")


def test_next_words_generation_lives_in_the_session_and_reset_drops_it(sessions):
    from playground.ui import next_word as nw_tab

    args = ("ROMEO:", "tiny-shakespeare-gpt", nw_tab.GREEDY, 1.0, 0, 1.0, 0)
    mine, theirs = request(_closed(sessions, "gen-mine")), request(_closed(sessions, "gen-theirs"))
    nw_tab.next_step(*args, request=mine)
    _, log, _ = nw_tab.next_step(*args, request=mine)
    assert [row[0] for row in log] == [1, 2] and len(present(present(session.peek("gen-mine")).generation).steps) == 2
    _, log, _ = nw_tab.next_step(*args, request=theirs)
    assert [row[0] for row in log] == [1]  # another session starts its own
    nw_tab.reset(request=mine)
    assert present(session.peek("gen-mine")).generation is None  # its KV cache is gone
    _, log, _ = nw_tab.next_step(*args, request=mine)
    assert [row[0] for row in log] == [1]


def test_each_kind_of_run_is_numbered_on_its_own(sessions):
    ws = sessions("names-session")
    names = [ws.add_checkpoint(ws.new_folder("c"), label) for label in ("my-gpt", "ft-who-wrote-it", "my-gpt")]
    assert names == [f"my-gpt-1{session.SUFFIX}", f"ft-who-wrote-it-1{session.SUFFIX}", f"my-gpt-2{session.SUFFIX}"]
    again = ws.add_checkpoint(ws.new_folder("c"), "my gpt")  # an uploaded my-gpt-1.zip is one more my-gpt
    assert again == f"my-gpt-3{session.SUFFIX}"
