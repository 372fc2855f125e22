"""A run's timeline (tiny/timeline.py): snapshots really taken and capped, the scrubber's last step is the saved
model, probes read on stored snapshots, the zip round trip; and loss against compute (tiny/compute.py)."""

from __future__ import annotations

import copy
import json
import math
import types
import zipfile
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from playground import next_word, probes, session
from playground.errors import UserError
from playground.tiny import compute, data
from playground.tiny.checkpoint import load_checkpoint
from playground.tiny.config import TrainConfig
from playground.tiny.run import TrainingRun
from playground.tiny.timeline import FOLDER, INDEX, Probe, Timeline, planned_steps, rank_ticks, snapshot_bytes
from playground.tiny.train import Limits, Trainer, flops_per_token
from playground.ui import timeline as tab

from .narrow import present

TEXT = data.load_corpus("tinyshakespeare")[:60_000]
SMALL: dict[str, Any] = dict(n_layer=1, n_head=2, n_embd=32, context_length=32, batch_size=8, lr=1e-2, tokenizer="char")


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(**(SMALL | dict(steps=60, log_every=10, eval_every=30) | kw))


def _finish(training: TrainingRun, max_steps: int | None = None):
    with training.hold():
        gen = training.train(max_steps)
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                return stop.value


def _saved(tmp_path: Path, cfg: TrainConfig | None = None):
    """A TrainingRun trained to the end and saved; (the outcome, the saved folder)."""
    saved: dict[str, Path] = {}

    def keep(folder: Path, label: str) -> str:
        saved.setdefault(label, folder)
        return label

    training = TrainingRun(lambda p: Path(tmp_path / f"{p}-{len(list(tmp_path.iterdir()))}"), keep)
    with training.hold():
        training.start(cfg or _cfg(), TEXT, None, "test", Limits())
    outcome = _finish(training)
    return outcome, outcome.folder


def test_planned_steps_are_capped_logging_points_with_both_ends():
    for steps, every, count in [(200, 10, 33), (1300, 10, 33), (5000, 10, 33), (7, 1, 33), (60, 10, 4)]:
        plan = planned_steps(steps, every, count)
        assert plan[0] == 0 and plan[-1] == steps and len(plan) <= count
        assert all(s % every == 0 or s == steps for s in plan)
    early = planned_steps(5000, 10, 33)
    assert sum(s <= 500 for s in early) >= 5  # the geometric part: early learning gets frames
    assert planned_steps(100, 10, 1) == []  # no room for two frames: no timeline


def test_snapshots_are_taken_at_the_plan_and_capped_in_count_and_bytes(tmp_path):
    run = Trainer(_cfg(steps=200, log_every=10), TEXT)
    per = snapshot_bytes(run.model)
    run.timeline = Timeline.for_run(tmp_path / "tl", run.model, "clm", 200, 10, max_snapshots=33, max_bytes=5 * per)
    run.timeline.note(0, run.model)
    list(run.advance())
    files = sorted((tmp_path / "tl").glob("step-*.safetensors"))
    assert len(files) == len(run.timeline.steps) <= 5  # the bytes allow five
    assert sum(f.stat().st_size for f in files) <= 5 * per + 5 * 4096  # (safetensors' small header)
    assert run.timeline.steps[0] == 0 and run.timeline.steps[-1] == 200
    assert run.timeline.steps == run.timeline.plan
    assert all(f.read_bytes()[:8] != b"PK\x03\x04" for f in files)


def test_the_scrubber_at_the_last_step_is_the_saved_model(tmp_path):
    outcome, folder = _saved(tmp_path)
    timeline = Timeline.load(folder)
    assert timeline is not None and timeline.final == 60 and timeline.frames[-1] == 60
    assert not (folder / FOLDER / "step-0000060.safetensors").exists()  # the checkpoint stands for it
    model, tokenizer, _ = load_checkpoint(folder)
    probe = timeline.probes[0]  # the default "a line the corpus makes predictable"
    assert probe.kind == "next" and probe.text.startswith("Before we proceed") and probe.word == "speak"
    last = timeline.read(tokenizer, probes.evaluate)[probe][-1]
    direct = next_word.next_token_distribution(model, tokenizer, probe.text + " ", top_k=5)  # at "s", after " "
    assert last.step == 60 and last.top == [(t.token, t.prob) for t in direct.top]
    assert last.prob == next_word.score_word(model, tokenizer, probe.text, probe.word).prob
    timeline.save()
    index = json.loads((folder / FOLDER / INDEX).read_text())
    (folder / FOLDER / INDEX).write_text(json.dumps(index | {"format": 1}))
    older = present(Timeline.load(folder))  # a run saved before the rank and the guesses were read at one place
    assert older.probes == timeline.probes and not older.readings  # its readings are read again


def test_a_probe_added_after_training_is_read_on_the_stored_snapshots(tmp_path):
    outcome, folder = _saved(tmp_path, _cfg(steps=100, lr=2e-2))
    timeline = present(Timeline.load(folder))
    _, tokenizer, _ = load_checkpoint(folder)
    probe = Probe("next", "First Citizen:\nBefore we proceed any further, hear me ", "speak")
    timeline.add_probe(probe)
    course = timeline.read(tokenizer, probes.evaluate)[probe]
    assert [r.step for r in course] == timeline.frames and len(course) >= 5
    assert (
        present(course[0].rank) > 10 and present(course[-1].rank) <= 5
    )  # "s" after "hear me ": a common start, learnt
    assert course[-1].prob > 10 * course[0].prob
    untrained = timeline.model_at(0)
    again = next_word.score_word(untrained, tokenizer, probe.text, probe.word)
    assert math.isclose(again.prob, course[0].prob, rel_tol=1e-6)


def test_a_words_rank_and_the_top_guesses_are_read_at_one_place(tmp_path):
    """A character model spells " speak" as " ", "s", …: its rank is the rank of "s" (after the space), so the top
    guesses are too; read before the space, "speak" had rank 3 while "s" stood 5th."""
    _, folder = _saved(tmp_path, _cfg(steps=100, lr=2e-2))
    timeline = present(Timeline.load(folder))
    _, tokenizer, _ = load_checkpoint(folder)
    probe = timeline.probes[0]
    assert probe.word == "speak" and not probe.text.endswith(" ")
    course = timeline.read(tokenizer, probes.evaluate)[probe]
    assert any(present(r.rank) <= len(r.top) for r in course)  # it was learnt: "s" is among the guesses at some step
    for r in course:
        guessed = [token for token, _ in r.top]
        assert (guessed.index("s") + 1 if "s" in guessed else None) == (
            r.rank if present(r.rank) <= len(guessed) else None
        )


def test_the_rank_axis_reads_1_2_5_10():
    assert rank_ticks([3, None, 700]) == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    assert rank_ticks([1]) == [1] and rank_ticks([None]) == [1] and rank_ticks([10]) == [1, 2, 5, 10]


def test_probes_are_checked_against_the_model_and_capped(tmp_path):
    _, folder = _saved(tmp_path)
    timeline = present(Timeline.load(folder))
    with pytest.raises(UserError, match="next word"):
        timeline.add_probe(Probe("mask", "hear me [MASK].", "speak"))
    with pytest.raises(UserError, match=r"\[MASK\]"):
        Probe("mask", "no mask here", "x")
    with pytest.raises(UserError, match="word to follow"):
        Probe("next", "hear me", " ")
    for i in range(10):
        try:
            timeline.add_probe(Probe("next", f"line {i}", "x"))
        except UserError as err:
            assert "at most 8" in str(err)
            break
    else:
        pytest.fail("the ninth probe was accepted")


def test_a_timeline_travels_between_processes_with_its_run(tmp_path):
    """On ZeroGPU a run is handed to the GPU process and back (copied as pickling copies it)."""
    _, folder = _saved(tmp_path)
    timeline = present(Timeline.load(folder))
    _, tokenizer, _ = load_checkpoint(folder)
    timeline.read(tokenizer, probes.evaluate)
    copied = copy.deepcopy(timeline)
    assert copied.frames == timeline.frames and copied.readings == timeline.readings
    assert (
        copied.read(tokenizer, probes.evaluate).keys() == timeline.read(tokenizer, probes.evaluate).keys()
    )  # its own lock and module work


def test_a_paused_run_keeps_one_frame_where_it_paused(tmp_path):
    training = TrainingRun(lambda p: Path(tmp_path / f"{p}-{len(list(tmp_path.iterdir()))}"), lambda f, n: n)
    with training.hold():
        training.start(_cfg(steps=200, log_every=10), TEXT, None, "test", Limits())
    assert _finish(training, max_steps=25).state == "paused"
    timeline = present(present(training.run).timeline)
    assert 25 in timeline.frames and timeline.paused_at == 25
    assert _finish(training, max_steps=12).state == "paused"
    assert 37 in timeline.frames and 25 not in timeline.frames  # only the latest pause is kept
    folder = timeline.folder
    training.reset()
    assert not folder.exists()  # a run dropped unsaved takes its snapshots with it


def test_a_run_paused_again_is_a_new_choice_so_the_scrubber_shows_its_new_frame(sessions):
    """The list names the paused run with its step: paused again further on, the refreshed list chooses it anew
    (a changed value: the scrubber picks it up), where one name for every pause kept the first frame on show."""
    own = sessions("timeline-repause")
    with own.training.hold():
        own.training.start(_cfg(steps=200, log_every=10), TEXT, None, "test", Limits())
    _finish(own.training, max_steps=25)
    request = gr.Request(session_hash="timeline-repause")
    first, offered = tab.refresh_runs(None, [], request)
    assert first["value"] == "the paused run (step 25)" and offered == ["the paused run (step 25)"]
    _finish(own.training, max_steps=12)
    again, offered = tab.refresh_runs(first["value"], offered, request)
    assert again["value"] == "the paused run (step 37)" and offered == ["the paused run (step 37)"]
    timeline, _tokenizer = own.timeline(again["value"])
    assert 37 in timeline.frames


def test_a_cleared_or_out_of_range_step_is_fitted_into_the_run_with_a_sentence(sessions):
    """The scrubber's events skip Gradio's range check (a cleared box logged a traceback and left a bare Error;
    9999 showed Gradio's raw toast while the status named another step): the box, slider and status agree."""
    own = sessions("timeline-fit")
    with own.training.hold():
        own.training.start(_cfg(steps=20, log_every=10), TEXT, None, "test", Limits())
    name = present(_finish(own.training).name)
    request = gr.Request(session_hash="timeline-fit")
    *_, status, slider = tab.scrub(name, None, request)
    assert (
        slider["value"] == 20 and status.startswith("Step **20** of 20") and "Step was empty, so 20 is used." in status
    )
    *_, status, slider = tab.scrub(name, 9999, request)
    assert slider["value"] == 20 and "Step goes from 0 to 20, so 9999 became 20." in status
    *_, status = tab.scrub_live(name, -5, request)
    assert status.startswith("Step **0** of 20") and "so -5 became 0." in status


def test_the_model_cards_probes_write_small_probabilities_readably_and_say_what_rank_means(sessions):
    """A 50-step character model gives a followed word a tiny probability: the card wrote 'p = 0.0%, rank 3' (the
    rank its first letter's); it writes 3.1e-07, and says what p and rank are for."""
    from playground import export

    own = sessions("timeline-card")
    with own.training.hold():
        own.training.start(_cfg(), TEXT, None, "test", Limits())
    outcome = _finish(own.training)
    timeline, tokenizer = own.timeline(present(outcome.name))
    timeline.read(tokenizer, probes.evaluate)
    timeline.save()
    lines = export._probe_lines(present(outcome.folder))
    probed = [line for line in lines if line.startswith("- ")]
    assert probed and not any("p = 0.0%" in line or " 0%" in line for line in probed)
    assert lines[-1].startswith("p is the followed word's probability") and "for one token" in lines[-1]


def test_a_zip_with_a_timeline_round_trips(tmp_path, sessions):
    own = sessions("timeline-zip")
    with own.training.hold():
        own.training.start(_cfg(), TEXT, None, "test", Limits())
    outcome = _finish(own.training)
    timeline, tokenizer = own.timeline(outcome.name)
    probe = Probe("next", "ROMEO:", "O")
    timeline.add_probe(probe)
    readings = timeline.read(tokenizer, probes.evaluate)
    timeline.save()
    path = own.zip_of(outcome.name)
    names = zipfile.ZipFile(path).namelist()
    assert f"{FOLDER}/{INDEX}" in names and f"{FOLDER}/step-0000000.safetensors" in names

    other = sessions("timeline-zip-2")
    name = other.import_zip(path, Limits().checkpoint_bytes)
    assert other.timeline_runs() == [name]
    back, _ = other.timeline(name)
    assert back.frames == timeline.frames and back.probes == timeline.probes
    assert {p: [(r.step, r.prob, r.rank) for r in rs] for p, rs in back.read(tokenizer, probes.evaluate).items()} == {
        p: [(r.step, r.prob, r.rank) for r in rs] for p, rs in readings.items()
    }


def test_a_damaged_timeline_in_a_zip_is_dropped_and_the_model_kept(tmp_path, sessions):
    _, folder = _saved(tmp_path)
    path = tmp_path / "run.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in folder.iterdir():
            if f.is_file():
                zf.write(f, f.name)
        zf.writestr(f"{FOLDER}/{INDEX}", "{not json")
    own = sessions("timeline-damaged")
    name = own.import_zip(path, Limits().checkpoint_bytes)
    assert name in own.checkpoints and own.timeline_runs() == []
    with pytest.raises(UserError, match="no timeline"):
        own.timeline(name)


def test_only_the_newest_runs_keep_their_snapshots(tmp_path, sessions, monkeypatch):
    monkeypatch.setattr(session, "TIMELINES_KEPT", 2)
    own = sessions("timeline-kept")
    names = []
    for _ in range(3):
        with own.training.hold():
            own.training.start(_cfg(steps=20), TEXT, None, "test", Limits())
        names.append(_finish(own.training).name)
    assert own.timeline_runs() == names[:0:-1]  # newest first; the oldest lost its snapshots
    assert all(n in own.checkpoints for n in names)  # but not its model


def test_the_scrub_handler_moves_with_the_step(tmp_path, sessions):
    req = types.SimpleNamespace(session_hash="timeline-ui")
    own = sessions("timeline-ui")
    with own.training.hold():
        own.training.start(_cfg(steps=100, lr=2e-2), TEXT, None, "test", Limits())
    name = _finish(own.training).name
    assert tab.run_choices("timeline-ui") == [name]
    slider, probes = tab.pick_run(name, req)
    assert slider["maximum"] == 100 and slider["value"] == 100 and len(probes["choices"]) == 2
    early = tab.scrub(name, 0, req)
    late = tab.scrub(name, 100, req)
    assert "Step **0**" in early[4] and "Step **100**" in late[4]
    assert early[1] != late[1]  # the guesses table changed
    assert late[0].layout.shapes[0].x0 == 100  # the chart's marker sits at the step
    ranks = late[0].layout.yaxis2  # log ticks read 1, 2, 5, 10, 20, 50, 100, not "2, 5, 10, 2, 5"
    assert ranks.tickvals[:4] == (1, 2, 5, 10) and ranks.ticktext[:4] == ("1", "2", "5", "10")
    assert "first" in late[1] and "after the space" in late[1]  # the guesses table says which token it ranks
    added = tab.add_probe(name, list(tab.KIND_LABELS)[0], "ROMEO:", "O", "", 100, req)
    assert "ROMEO:" in added[1] and len(added[-1]["choices"]) == 3
    with pytest.raises(Exception, match="next word"):
        tab.add_probe(name, list(tab.KIND_LABELS)[1], "hear me [MASK]", "x", "", 100, req)


def test_the_slider_the_status_and_the_sample_agree_on_the_step_shown(sessions):
    req = types.SimpleNamespace(session_hash="timeline-agree")
    own = sessions("timeline-agree")
    with own.training.hold():
        own.training.start(_cfg(steps=100, lr=2e-2), TEXT, None, "test", Limits())  # samples at 30, 60, 90, 100
    name = _finish(own.training).name
    frames = own.timeline(name)[0].frames
    assert 30 in frames and 39 not in frames
    *_, status, slider = tab.scrub(name, 39, req)  # between snapshots: the one before it, and the slider moves there
    assert slider["value"] == 30 and status.startswith("Step **30** of 100")
    *_, status = tab.scrub_live(name, 39, req)  # while it is held at 39, the status says why 30 is shown
    assert status.startswith("Step **30** (step 39 has no snapshot: the one before it) of 100")
    assert tab.scrub(name, 59, req)[3].startswith("(step 30)\n")  # the nearest earlier sample, with its step
    before = tab.scrub(name, 20, req)[3]
    assert before == "No sample yet at step 20: the first was written at step 30, with the first validation check."


def test_the_run_list_chooses_a_run_new_since_it_was_offered(sessions):
    req = gr.Request(session_hash="timeline-refresh")
    own = sessions("timeline-refresh")
    names = []
    for _ in range(2):
        with own.training.hold():
            own.training.start(_cfg(steps=20), TEXT, None, "test", Limits())
        names.append(_finish(own.training).name)
    update, offered = tab.refresh_runs(names[0], [names[0]], req)  # the second finished since the list was made
    assert update["value"] == names[1] and offered == names[::-1]
    update, _ = tab.refresh_runs(names[0], offered, req)  # nothing new: the learner's pick stays
    assert update["value"] == names[0]
    update, _ = tab.refresh_runs(None, [], req)  # a fresh page: the newest
    assert update["value"] == names[1]


# ---------------------------------------------------------------- loss against compute


def test_a_runs_flops_are_the_benchmarks_formula(tmp_path):
    outcome, folder = _saved(tmp_path)
    model, tokenizer, meta = load_checkpoint(folder)
    cfg = outcome.run.cfg
    point = present(compute.run_point("mine", meta, model.num_parameters(), len(tokenizer)))
    assert meta["tokens"] == 60 * 8 * 32 == outcome.run.tokens
    assert point.flops == meta["tokens"] * flops_per_token(cfg, model.num_parameters())  # bench/train_speed.py's
    assert point.loss == meta["final_val_loss"] and point.chars_per_token == 1.0  # characters
    assert math.isclose(present(point.bits_per_char), point.loss / math.log(2))
    assert point.curve[-1] == (point.flops, point.loss)


def test_reference_points_and_groups():
    baby, cpu, *measured = compute.references()
    assert (baby.loss, cpu.loss) == (1.4697, 1.88)
    tokens = 2000 * 12 * 64  # nanoGPT's CPU command: 2,000 iterations of 12 × 64
    assert math.isclose(
        cpu.flops / tokens,
        flops_per_token(
            TrainConfig(n_layer=4, n_head=4, n_embd=128, context_length=64, batch_size=12),
            compute.count_parameters(TrainConfig(n_layer=4, n_head=4, n_embd=128, context_length=64), 65),
        ),
    )
    assert baby.group == cpu.group == "tinyshakespeare · next token · characters"
    smol = next(p for p in measured if p.label == "SmolLM2-135M-Instruct")  # bench/compute_references.py
    assert smol.only_bits and smol.flops == 6 * 135e6 * 2e12 and 1.0 < present(smol.bits_per_char) < 2.5


def test_the_power_law_fit_recovers_a_known_law():
    points = [compute.Point(str(c), c, 7.0 * c**-0.05, "g", "c") for c in (1e12, 1e13, 1e14, 1e15)]
    a, b = present(compute.fit_power_law(points))
    assert math.isclose(a, 7.0, rel_tol=1e-9) and math.isclose(b, 0.05, rel_tol=1e-9)
    assert compute.fit_power_law(points[:2]) is None  # fewer than three runs: no line


def test_the_compute_view_puts_session_runs_beside_the_references(sessions):
    req = types.SimpleNamespace(session_hash="compute-ui")
    own = sessions("compute-ui")
    for steps in (20, 40, 80):
        with own.training.hold():
            own.training.start(_cfg(steps=steps), TEXT, None, "test", Limits())
        _finish(own.training)
        fig, notes = tab.compute_view(list(tab.UNITS)[0], req)
        fitted = [t.name for t in fig.data if t.name.startswith("fit:")]
        # a law is fitted to the learner's own runs only, from the third on, as the page promises (the references
        # on the same corpus and tokenizer made a line of one run and two published points)
        assert len(fitted) == (steps == 80) and ("fitted to your 3 runs" in notes) == (steps == 80)
    names = [t.name for t in fig.data]
    assert "tinyshakespeare · next token · characters" in names  # the references (and the bundled GPT's group)
    assert "nanoGPT README" in notes and "scaling law" in notes
    fig, _ = tab.compute_view("bits per character", req)
    shakespeare = next(t for t in fig.data if t.name == "tinyshakespeare · next token")
    assert "tiny-shakespeare-gpt (bundled)" in shakespeare.text  # BPE, comparable in bits per character
    assert "SmolLM2-135M-Instruct" in shakespeare.text  # a real model, measured on the same text
    fig, _ = tab.compute_view(list(tab.UNITS)[0], req)
    assert not any("SmolLM2" in str(t.text) for t in fig.data)  # its loss per token is another tokenizer's


def test_a_probe_added_before_any_run_is_followed_by_the_next_one(sessions):
    req = types.SimpleNamespace(session_hash="timeline-before")
    own = sessions("timeline-before")
    kept = tab.add_probe(None, list(tab.KIND_LABELS)[0], "ROMEO:", "O", "", None, req)
    assert "next run follows" in kept[4]
    tab.add_probe(None, list(tab.KIND_LABELS)[1], "hear me [MASK].", "speak", "", None, req)  # for masked runs
    with own.training.hold():
        own.training.start(_cfg(), TEXT, None, "test", Limits(), own.probes)
    labels = [p.label for p in own.training.run.timeline.probes]
    assert labels[-1] == "ROMEO: → O" and len(labels) == 3  # the two defaults and the learner's; not the masked one


def test_the_shipped_encoders_continued_pre_training_is_a_point_of_the_compute_chart(sessions):
    """#23 item 4: the packaged encoder's tokens and loss from its shipped card, on the chart in its own group."""
    from playground import encoder, registry

    folder = present(registry.PACKAGED[registry.ENCODER].folder)
    point = present(encoder.compute_point(folder))
    meta = encoder.read_info(folder)["meta"]
    assert point.flops == meta["flops"] and point.curve[-1] == (point.flops, point.loss)
    assert point.loss == [c for c in meta["curve"] if c.get("val_loss") is not None][-1]["val_loss"]
    assert point.group == "general-english · masked LM + NSP · wordpiece 30,522"
    assert 3 < present(point.chars_per_token) < 7  # WordPiece on English prose: a few characters a token
    fig, _ = tab.compute_view(list(tab.UNITS)[0], types.SimpleNamespace(session_hash="compute-encoder"))
    assert any("continued pre-training" in str(t.text) for t in fig.data)
