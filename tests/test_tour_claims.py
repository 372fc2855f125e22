"""Every tour step's answer agrees with what the tab shows, on this host's default models (offline here and in CI):
each step is run through its tab's own handler with the step's inputs, and the answer's "On screen" part is read
against that output: the top token it names is the top one drawn, the numbers it quotes are the ones displayed,
a direction it states ("falls") holds, and a model that fails the textbook example gets the "gets this one wrong"
form. Real models, real tokenizers; nothing mocked."""

from __future__ import annotations

import re

import pytest

from playground import registry, tour
from playground.ui import fill_mask as fm_tab
from playground.ui import next_sentence as ns_tab
from playground.ui import next_word as nw_tab
from playground.ui import tour as tour_tab

from .narrow import of_type, present

pytestmark = pytest.mark.slow  # the real default models (SmolLM2 converts its GGUF once per machine)


def _step(n: int) -> tour.Step:
    return tour.STEPS[n - 1]


def _load(task: str) -> registry.LoadedModel:
    return registry.load(registry.default_model(task), task)


def _seen(n: int) -> tour.Observation:
    s = _step(n)
    assert s.observe is not None, s.title
    return s.observe(s, _load)


def _percent(p: float) -> str:
    return f"{p:.0%}"


def test_tokens_named_are_the_tokenizers_own():
    seen = _seen(1)
    assert "`un ##bel ##ie ##va ##bly`" in seen.text and "`␣unbelievably`" in seen.text and seen.holds
    bert = registry.reference_tokenizer("bert-base-uncased")
    assert bert.tokenize("unbelievably") == ["un", "##bel", "##ie", "##va", "##bly"]


def test_next_word_names_the_top_bar_and_quotes_its_height():
    s, seen = _step(3), _seen(3)
    table = nw_tab.predict(s.inputs["nw-prompt"], 10, "", s.inputs["nw-temperature"])[1]  # the tab's own handler
    top_token, top_prob = table[0][1], table[0][3]  # [rank, repr(token), id, prob, logprob]
    assert f"puts {top_token} first ({_percent(top_prob)})" in seen.text
    drop = re.search(r"drops from (\d+)% to (\d+)%", seen.text)
    assert drop and int(drop[2]) < int(drop[1]) == round(top_prob * 100)  # the direction stated holds
    assert seen.holds == (top_token.strip("'\" ") == "Paris")
    assert ("gets this one wrong" in seen.text) != seen.holds


def test_fill_mask_names_the_candidates_drawn():
    s, seen = _step(4), _seen(4)
    table = fm_tab.predict(s.inputs["fm-text"], 5)[2]  # [mask, rank, token, id, prob]
    for _, _, token, _, prob in table:
        assert f"*{token.strip().lower()}* ({_percent(prob)})" in seen.text
    fits = any(row[2].strip().lower() in tour.MEDICINES for row in table)
    assert seen.holds == fits and ("gets this one wrong" in seen.text) != fits


def test_next_sentence_quotes_both_judgements_and_the_direction_holds():
    s, seen = _step(5), _seen(5)
    real = ns_tab.predict(s.inputs["ns-a"], s.inputs["ns-b"])[0]["IsNext (B follows A)"]
    random = ns_tab.predict(s.inputs["ns-a"], tour.PENGUINS)[0]["IsNext (B follows A)"]
    assert f"{_percent(real)} for the real continuation and {_percent(random)} for" in seen.text
    assert seen.holds == (real >= 0.5 > random)
    assert ("it falls, as it should" in seen.text) == seen.holds
    assert ("gets this pair wrong" in seen.text) != seen.holds


def test_positions_and_first_loss_quote_the_numbers_of_their_inputs():
    seen = _seen(2)
    assert "At 64 dimensions, pair 0 comes round every 6.3 positions and pair 31 every" in seen.text
    assert "ln 65" in _seen(6).text or "ln 70" in _seen(6).text  # the default character vocabulary, measured


def test_the_positions_step_draws_every_wave_it_names():
    from playground.ui import positional as tab

    inputs = _step(2).inputs
    _heat, waves, note = tab.sinusoid_views(64, of_type(inputs["pe-dim"], int), 10_000, of_type(inputs["pe-dims"], str))
    assert "The 32 sin/cos pairs" in note and "Not drawn" not in note  # the waves it sets fit the width it sets
    assert [t.name for t in waves.data] == [
        "dim 0 (sin)",
        "dim 1 (cos)",
        "dim 10 (sin)",
        "dim 40 (sin)",
        "dim 62 (sin)",
    ]


def test_inside_names_the_head_the_pattern_table_ranks_first():
    from playground import attention

    s, seen = _step(8), _seen(8)
    loaded = _load("causal")
    best = attention.pattern_scores(
        attention.extract(loaded.model, loaded.tokenizer, of_type(s.inputs["nw-prompt"], str)), "previous token"
    )[0]
    assert f"head {best.layer}.{best.head} puts {_percent(best.score)}" in seen.text


def test_the_answer_shown_is_the_lesson_and_what_the_model_on_screen_did():
    shown = tour_tab.reveal(_step(4).title, "", "tiny-shakespeare-bert", "")["value"]
    assert _step(4).answer in shown and "**On screen:** **tiny-shakespeare-bert**" in shown


def test_a_model_that_fails_the_textbook_example_is_said_to():
    # tiny-shakespeare-bert never read about medicine: the answer must not pretend it did
    s = _step(4)
    seen = present(s.observe)(s, lambda task: registry.load("tiny-shakespeare-bert", task))
    assert not seen.holds and "gets this one wrong" in seen.text and "tiny-shakespeare-bert" in seen.text


def test_tour_links_name_their_step():
    assert tour.from_link("3") is _step(3) and tour.link(_step(3)) == "?tour=3"
    assert tour.from_link("0") is None and tour.from_link("nine") is None and tour.from_link(None) is None
