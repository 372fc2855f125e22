"""The race of two recipes (tiny/race.py, ui/race.py): the same tokens and batches for both sides, curves equal to
each run trained alone, one race per session, the limits, and the view's two curves."""

from __future__ import annotations

import types
from dataclasses import fields

import pytest
import torch

from playground.errors import UserError
from playground.tiny import data, recipes
from playground.tiny.race import Race, differences, ingredients
from playground.tiny.train import Limits, Run, TrainConfig
from playground.ui import race as tab
from playground.ui import train as train_tab

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
        alone = Run(cfg, TEXT, race.runs["A"].tokenizer)
        solo = [(e.step, e.train_loss, e.val_loss) for e in alone.advance()]
        assert [(e.step, e.train_loss, e.val_loss) for e in race.laps[side]] == solo
    target, first = race.to_reach()
    assert target == max(min(e.val_loss for e in race.laps[s]) for s in "AB")
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
