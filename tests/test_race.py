"""The race of two recipes (tiny/race.py, ui/race.py): the same tokens and batches for both sides, curves equal to
each run trained alone, one race per session, the limits, the view's two curves, and Stop settling every time."""

from __future__ import annotations

import threading
import time
import types
from dataclasses import fields, replace

import pytest
import torch

from playground.errors import UserError
from playground.tiny import data, recipes
from playground.tiny.config import TrainConfig
from playground.tiny.race import LIVE, Race, Racing, differences, ingredients
from playground.tiny.train import Limits, Trainer
from playground.ui import race as tab
from playground.ui import train as train_tab

from .narrow import present

TEXT = data.load_corpus("tinyshakespeare")[:60_000]
BASE = TrainConfig(n_layer=1, n_head=2, n_embd=32, context_length=32, batch_size=8, steps=30, log_every=10,
                   eval_every=10, eval_batches=2, tokenizer="char")  # fmt: skip


def test_no_ingredient_is_the_classic_recipe_and_all_are_the_modern_one():
    classic, modern = ingredients(BASE, set()), ingredients(BASE, set(recipes.WHY))
    for name in [*recipes.WHY, "lr", "weight_decay"]:
        assert getattr(classic, name) == recipes.RECIPES["classic"][name]
        assert getattr(modern, name) == recipes.RECIPES["modern"][name]
    only_norm = ingredients(BASE, {"norm"})
    assert [d[0] for d in differences(classic, only_norm)] == ["norm"]
    with pytest.raises(UserError, match="Unknown ingredients"):
        ingredients(BASE, {"dropout"})


def test_both_sides_see_the_same_tokens_and_batches():
    race = Race.start(ingredients(BASE, set()), ingredients(BASE, set(recipes.WHY)), TEXT, Limits())
    a, b = race.runs["A"], race.runs["B"]
    assert a.tokenizer.get_vocab() == b.tokenizer.get_vocab()
    assert torch.equal(a.train_src.next().input_ids, b.train_src.next().input_ids)


def test_taking_turns_changes_neither_curve():
    cfgs = ingredients(BASE, set()), ingredients(BASE, {"optimizer", "norm"})
    race = Race.start(*cfgs, TEXT, Limits())
    laps = list(race.advance())
    assert [lap.side for lap in laps] == ["A", "B"] * 3  # one logging interval each, in turns
    for side, cfg in zip("AB", cfgs):
        alone = Trainer(cfg, TEXT, race.runs["A"].tokenizer)
        solo = [(e.step, e.train_loss, e.val_loss) for e in alone.advance()]
        assert [(e.step, e.train_loss, e.val_loss) for e in race.laps[side]] == solo
    target, first = race.to_reach()
    assert target == max(min(present(e.val_loss) for e in race.laps[s]) for s in "AB")
    assert all(first[s] is not None for s in "AB")


def test_a_race_keeps_to_the_limits_and_one_at_a_time(sessions):
    big = TrainConfig(**{f.name: getattr(BASE, f.name) for f in fields(BASE)} | {"n_embd": 2048, "n_layer": 8})
    with pytest.raises(UserError, match="parameters"):
        Race.start(big, big, TEXT, Limits())
    huge = TrainConfig(**{f.name: getattr(BASE, f.name) for f in fields(BASE)} | {"context_length": 10**9})
    with pytest.raises(UserError, match="Context length"):  # refused before any tensor is made (the sweep's 10⁹)
        Race.start(huge, huge, TEXT, Limits())
    racing = sessions("race-once").racing
    with racing.hold():
        with pytest.raises(UserError, match="already racing"):
            with racing.hold():
                pass


def test_the_race_view_streams_two_named_curves_and_a_readout(sessions):
    req = types.SimpleNamespace(session_hash="race-view")
    sessions("race-view")
    form = dict(n_layer=1, n_head=2, n_embd=32, context=32, batch=8, samples=1)
    chars = list(train_tab.TOKENIZERS)[0]
    out = list(tab.run_race(list(train_tab.OBJECTIVES)[0], train_tab.PASTED, TEXT, 40, 1, chars, a=[],
                            b=list(recipes.WHY), request=req, **form))  # fmt: skip
    chart, readout = out[-1]
    names = {t.name for t in chart.data}
    assert {"A (classic): validation", "B (modern): validation"} <= names
    assert len([t for t in chart.data if t.name.endswith("validation")]) == 4  # two sides × two panels
    assert readout.startswith("**Done**") and "Both reached validation loss" in readout
    assert "**optimizer**" in readout  # what differs, with why
    assert "40/40" in readout
    race = present(sessions("race-view").racing.race)  # kept for its chart: its lanes and laps, not its runs
    assert race.runs == {} and [lane.step for lane in race.lanes().values()] == [40, 40] and race.done


TINY = replace(BASE, n_embd=16, context_length=16, batch_size=4, steps=5_000, log_every=4, eval_every=4, eval_batches=1)
SETTLE_S = 60.0  # only a lost wake-up waits this long: a race ends within a step of its Stop


def _wait(condition, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.002)


def _race(racing: Racing, laps: list) -> None:
    """A race as the tab drives it (ui/race.py run_race), in its own thread."""
    with racing.hold():
        racing.start(TINY, TINY, TEXT[:20_000], Limits(), {"A": "a", "B": "b"})
        laps.extend(racing.advance(float("inf")))


def _steps(race: Race | None) -> int:
    return sum(lane.step for lane in race.lanes().values()) if race else 0


@pytest.mark.slow
def test_stop_settles_within_one_logging_interval_a_hundred_times():
    """Stopped while it builds its runs, within its first interval or later: the race ends within one step of the
    Stop (the flag is read between steps, well inside one logging interval of TINY.log_every steps), says stopped,
    and stays the race kept, its laps as they were."""
    racing, before = Racing(), None
    for i in range(100):
        laps: list = []
        thread = threading.Thread(target=_race, args=(racing, laps))
        thread.start()
        _wait(lambda: racing.state in LIVE)
        _wait(lambda laps=laps, n=i % 3, t=thread: len(laps) >= n or not t.is_alive())  # 0, 1 or 2 laps in
        assert racing.stop() == "stopping"
        asked = _steps(racing.race)  # after the flag is up: the step in progress may still end
        assert racing.settle(SETTLE_S) == "stopped"
        race = racing.race
        assert race is not None and race is not before  # this race's result, not the last one's
        assert _steps(race) - asked <= 1 < TINY.log_every
        shown = {side: list(events) for side, events in race.laps.items()}
        thread.join(SETTLE_S)
        assert not thread.is_alive() and racing.state == "stopped" and racing.race is race
        assert race.laps == shown and not race.done  # nothing ran on and overwrote it
        before = race


def test_a_stop_shows_the_stopped_race_whichever_reply_lands_last(sessions):
    """Stop's reply and the race's own last update go to the same readout by two routes (Stop is not queued), so
    either may land last: both are the stopped race's chart and readout. A reply of "Stopping…" that landed last
    stayed on the page for good, over the results table."""
    req = types.SimpleNamespace(session_hash="race-stop")
    racing = sessions("race-stop").racing
    form = dict(n_layer=1, n_head=2, n_embd=16, context=16, batch=4, samples=1)
    chars, outputs = list(train_tab.TOKENIZERS)[0], []
    racer = threading.Thread(target=lambda: outputs.extend(tab.run_race(
        list(train_tab.OBJECTIVES)[0], train_tab.PASTED, TEXT[:20_000], 2000, 1, chars, a=[], b=list(recipes.WHY),
        request=req, **form)))  # fmt: skip
    racer.start()
    _wait(lambda: _steps(racing.race) > 0)
    chart, readout = tab.stop_race(req)
    racer.join(SETTLE_S)
    last_chart, last_readout = outputs[-1]
    assert readout.startswith("**Stopped**") and readout == last_readout
    assert chart.to_dict() == last_chart.to_dict()
    again_chart, again = tab.stop_race(req)  # Stop on a race that has ended shows it as it is
    assert again == readout and again_chart.to_dict() == chart.to_dict()


def test_the_readout_says_which_side_won_in_steps_and_which_in_seconds():
    """'Faster' can mean fewer steps or fewer seconds: the modern recipe may learn more per step and still cost more
    per second on a CPU, and the readout says which is which instead of leaving the notes' 'faster' to stand."""
    assert tab._verdict({"A": (144, 63.8), "B": (24, 69.6)}).startswith(
        "B got there in fewer steps but A in less training time: B's steps cost more here"
    )
    assert tab._verdict({"A": (30, 10.0), "B": (20, 8.0)}) == "B got there first, in steps and in training seconds."
