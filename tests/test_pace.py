"""The Train tab's estimate tracks the measured pace (issue #24, item 4): calibrated on the latest runs here,
and a range when those runs or the machine's load disagree."""

from __future__ import annotations

import collections

import pytest

from playground.tiny import train
from playground.tiny.config import TrainConfig
from playground.tiny.run import TrainingRun
from playground.tiny.train import Limits, estimate

CFG = TrainConfig(n_layer=2, n_head=4, n_embd=128, context_length=64, batch_size=16, steps=30, eval_every=15)
VOCAB = 70


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    """No runs seen yet, and an idle machine (the real load average is whatever the tests around make it)."""
    monkeypatch.setattr(train, "_PACE", collections.deque(maxlen=5))
    monkeypatch.setattr(train, "_cpu_load", lambda: 0.0)


def test_without_runs_the_estimate_is_the_reference_steps_alone():
    est = estimate(CFG, VOCAB)
    assert est.seconds_per_step == pytest.approx(train._uncalibrated(CFG, VOCAB))
    assert est.calibrated_on == 0 and not est.busy


def test_a_run_twice_as_slow_as_estimated_doubles_the_next_estimate():
    raw = train._uncalibrated(CFG, VOCAB)
    train.observe_pace(CFG, VOCAB, steps=200, seconds=200 * raw * 2)
    est = estimate(CFG, VOCAB)
    assert est.seconds_per_step == pytest.approx(2 * raw)
    assert est.calibrated_on == 1 and not est.busy


def test_runs_that_disagree_give_a_range():
    raw = train._uncalibrated(CFG, VOCAB)
    for factor in (1.0, 1.1, 2.0):
        train.observe_pace(CFG, VOCAB, steps=100, seconds=100 * raw * factor)
    est = estimate(CFG, VOCAB)
    assert est.busy
    assert est.low == pytest.approx(raw) and est.high == pytest.approx(2 * raw)
    assert est.seconds_per_step == pytest.approx(1.1 * raw)  # the median


def test_a_loaded_machine_widens_the_range(monkeypatch):
    monkeypatch.setattr(train, "_cpu_load", lambda: 3.0)  # three runnable tasks per core
    est = estimate(CFG, VOCAB)
    assert est.busy and est.high == pytest.approx(3 * est.low)


def test_a_few_steps_say_nothing_about_the_pace():
    train.observe_pace(CFG, VOCAB, steps=train.MIN_PACE_STEPS - 1, seconds=100.0)
    assert estimate(CFG, VOCAB).calibrated_on == 0


def test_a_finished_run_in_the_tab_calibrates_the_next_estimate(tmp_path):
    folders = iter(range(100))
    training = TrainingRun(lambda prefix: tmp_path / f"{prefix}-{next(folders)}", lambda folder, label: label)
    text = "To be, or not to be, that is the question. " * 300
    training.start(CFG, text, None, "pasted", Limits())
    with training.hold():
        for _ in training.train():
            pass
    assert estimate(CFG, VOCAB).calibrated_on == 1
