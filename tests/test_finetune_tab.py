"""The fine-tuning part of the Train tab, through its handlers (no browser): train side by side, stop, try it."""

from __future__ import annotations

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
    pair_task = list(ui.TASK_CHOICES)[0]
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
