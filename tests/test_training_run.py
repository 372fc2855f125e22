"""The training run's state machine in the core Session, without Gradio: pause, step, stop, reset, one run per
session, and the same curve however the run is cut up."""

from __future__ import annotations

import time

import pytest

from playground.errors import UserError
from playground.model_cache import module_bytes
from playground.tiny import data, paused, sources
from playground.tiny.config import TrainConfig
from playground.tiny.train import Limits, Trainer

from .narrow import of_type, present

TEXT = data.load_corpus("tinyshakespeare")[:60_000]


def config(steps: int = 12, dropout: float = 0.1) -> TrainConfig:
    # 1 layer × 2 heads × 32 wide, characters: a few ms a step on CPU; dropout so its random stream counts too
    return TrainConfig(
        objective="clm",
        tokenizer="char",
        n_layer=1,
        n_head=2,
        n_embd=32,
        context_length=32,
        batch_size=8,
        lr=1e-2,
        dropout=dropout,
        steps=steps,
        warmup_steps=2,
        log_every=1,
        eval_every=steps,
        eval_batches=1,
        seed=3,
        device="cpu",
    )


def start(own, steps: int = 12):
    own.training.start(config(steps), TEXT, None, "test text", Limits())
    return own.training


def losses(events) -> dict[int, float]:
    return {e.step: e.train_loss for e in events}


def run_to_end(training, max_steps=None):
    """Train while holding the run; (events, how it ended)."""
    events = []
    with training.hold():
        gen = training.train(max_steps)
        while True:
            try:
                events.append(next(gen))
            except StopIteration as done:
                return events, done.value


def test_pause_then_resume_gives_the_same_curve_as_one_go(sessions):
    straight, _ = run_to_end(start(sessions("run-straight")))
    training = start(sessions("run-paused"))
    first = []
    with training.hold():
        gen = training.train()
        for event in gen:
            first.append(event)
            if event.step == 5:
                assert training.pause() == "pausing"
    assert training.run is not None and training.run.step == 5 and not training.busy
    assert training.pause() == "paused"
    rest, outcome = run_to_end(training)
    assert outcome.state == "saved"
    assert losses(first) | losses(rest) == losses(straight) and len(straight) == 12


def test_stop_saves_a_checkpoint_into_the_session(sessions):
    own = sessions("run-stop")
    training = start(own, steps=500)
    with training.hold():
        gen = training.train()
        for event in gen:
            if event.step == 4:
                assert training.stop().state == "stopping"
        # the loop saw the flag after step 4 and saved
    assert training.run is None and len(own.checkpoints) == 1
    ((name, folder),) = own.checkpoints.items()
    assert name.startswith("my-gpt-1") and folder.is_relative_to(own.folder) and (folder / "model.safetensors").exists()
    assert own.checkpoint_tasks(name) == ("causal",)
    assert own.zip_of(name).stat().st_size > 0  # the download


def test_stop_of_a_paused_run_saves_at_once(sessions):
    own = sessions("run-stop-paused")
    training = start(own)
    run_to_end(training, max_steps=3)
    outcome = training.stop()
    assert outcome.state == "saved" and outcome.final.step == 3 and outcome.final.stopped
    assert outcome.name in own.checkpoints


def test_past_the_paused_runs_budget_another_sessions_paused_run_is_saved_and_told_why(sessions, monkeypatch):
    """All sessions' paused runs share one budget (tiny/paused.py): a pause past it stops the longest-paused run of
    another session as Stop would, in the background; its page hears why once. A paused run holds no gradients,
    and a saved one no optimizer state, while its Outcome waits for the page."""
    monkeypatch.setattr(paused, "PAUSED", paused.PausedRuns(1))  # one paused run at most
    first, second = sessions("aside-first"), sessions("aside-second")
    run_to_end(start(first), max_steps=3)
    run = first.training.run
    assert run is not None and all(p.grad is None for p in run.model.parameters())
    assert paused.PAUSED.size == run.held_bytes() > 3 * module_bytes(run.model)  # the model, Adam's two moments
    run_to_end(start(second), max_steps=2)
    deadline = time.monotonic() + 60
    while first.training.ended is None and time.monotonic() < deadline:
        time.sleep(0.01)
    ended = first.training.ended
    assert ended is not None and ended.state == "saved" and ended.name in first.checkpoints
    assert "stopped at step 3 to free the server's memory" in ended.notice and present(ended.final).step == 3
    assert not any(opt.state for opt in of_type(ended.run, Trainer).optimizers)
    assert first.training.stop() is ended and first.training.stop().state == "idle"  # told once
    assert second.training.run is not None and paused.PAUSED.size == second.training.run.held_bytes()


def test_reset_clears_the_run_and_saves_nothing(sessions):
    own = sessions("run-reset")
    training = start(own, steps=500)
    with training.hold():
        gen = training.train()
        for event in gen:
            if event.step == 3:
                assert training.reset().state == "resetting"
    assert training.run is None and not own.checkpoints and not training.halted()
    start(own)
    assert training.reset().state == "reset" and training.run is None  # a paused run: at once


def test_step_trains_exactly_one_step(sessions):
    training = start(sessions("run-step"))
    events, outcome = run_to_end(training, max_steps=1)
    assert [e.step for e in events] == [1] and outcome.state == "paused" and training.run.step == 1
    run_to_end(training, max_steps=1)
    assert training.run.step == 2


def test_two_sessions_train_independently(sessions):
    a, b = sessions("run-a"), sessions("run-b")
    ta, tb = start(a), start(b, steps=500)
    with tb.hold():  # b trains (here: holds its run) while a trains to the end
        _, outcome = run_to_end(ta)
        assert outcome.state == "saved" and tb.run is not None and tb.run.step == 0
    assert list(a.checkpoints) == ["my-gpt-1 · this session"] and not b.checkpoints


def test_a_second_run_at_once_in_one_session_is_refused(sessions):
    training = start(sessions("run-twice"))
    with training.hold():
        with pytest.raises(UserError, match="already training"):
            with training.hold():
                pass
    assert not training.busy


def test_a_failed_step_leaves_no_resumable_run(sessions, monkeypatch):
    from playground.tiny.train import Trainer

    training = start(sessions("run-fails"))

    def boom(self):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Trainer, "train_step", boom)
    with pytest.raises(RuntimeError, match="a bug"):  # no "No GPU was granted": the error propagates as it is
        run_to_end(training)
    assert training.run is None and not training.busy


def test_closing_the_session_stops_its_run_and_names_the_folders_to_drop(sessions):
    own = sessions("run-close")
    training = start(own)
    run_to_end(training)
    folders = own.close()
    assert folders == list(own.checkpoints.values()) and not own.folder.exists() and training.run is None


def test_an_uploaded_corpus_is_read_as_the_tokenizer_tab_reads_it(tmp_path):
    with_bom = tmp_path / "notes.txt"
    with_bom.write_bytes("\ufeffShall I compare thee".encode())
    assert sources.corpus_text(sources.Corpus(sources.UPLOADED, upload=str(with_bom)), 1000) == "Shall I compare thee"
    with pytest.raises(UserError, match="limited to"):
        sources.corpus_text(sources.Corpus(sources.UPLOADED, upload=str(with_bom)), 10)
    with pytest.raises(UserError, match="Paste some text"):
        sources.corpus_text(sources.Corpus(sources.PASTED, pasted="  "), 1000)


def test_a_run_whose_last_page_left_pauses_and_waits_for_a_reload(sessions):
    from playground import session

    own = sessions("run-left")
    training = start(own, steps=500)
    with training.hold():
        gen = training.train()
        for event in gen:
            if event.step == 2:
                session.leave("run-left")  # the page closed mid-run
    assert training.run is not None and training.run.step == 2 and own.folder.exists()


def test_the_curve_is_the_same_whatever_the_chunking(sessions, monkeypatch):
    from playground.tiny import run as run_module

    straight, _ = run_to_end(start(sessions("run-one-chunk")))
    monkeypatch.setattr(run_module, "CHUNK_SECONDS", 0.005)  # a step or two per chunk
    chunks, advance = [], run_module._advance

    def counted(*args):
        chunks.append(1)
        return advance(*args)

    monkeypatch.setattr(run_module, "_advance", counted)
    chunked, outcome = run_to_end(start(sessions("run-many-chunks")))
    assert outcome.state == "saved" and losses(chunked) == losses(straight) and len(chunks) > 3
